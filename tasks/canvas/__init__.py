"""Celery's canvas on taskiq: signatures, link/link_error, chain, group, chord."""

from tasks.canvas.chain import apply_chain, chain
from tasks.canvas.chord import ChordHandle, apply_chord
from tasks.canvas.group import GroupHandle, apply_group, batched
from tasks.canvas.link import TaskFailure
from tasks.canvas.middleware import CanvasMiddleware
from tasks.canvas.signature import Signature, sig

__all__ = [
    "CanvasMiddleware",
    "ChordHandle",
    "GroupHandle",
    "Signature",
    "TaskFailure",
    "apply_chain",
    "apply_chord",
    "apply_group",
    "batched",
    "chain",
    "sig",
]
