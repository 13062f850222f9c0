"""Celery's canvas on taskiq: signatures, link/link_error, chain, group, chord."""

from taskiq_durable.canvas.chain import apply_chain, chain
from taskiq_durable.canvas.chord import ChordHandle, apply_chord
from taskiq_durable.canvas.group import GroupHandle, apply_group, batched
from taskiq_durable.canvas.link import TaskFailure
from taskiq_durable.canvas.middleware import CanvasMiddleware
from taskiq_durable.canvas.signature import Signature, si, sig

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
    "si",
    "sig",
]
