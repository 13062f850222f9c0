"""Sections of docs/migration.md that findings link to: the single source of their anchors.

The guide author writes one `##` heading per section with exactly this title; the anchor is
GitHub's slug of the title, so a test can check that every link here lands on a heading.
"""

import enum
import re

__all__ = ["GUIDE_PATH", "Section", "slugify"]

GUIDE_PATH = "docs/migration.md"


def slugify(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


class Section(enum.Enum):
    """One guide section; the value is its heading."""

    APP_AND_CONFIG = "App and config"
    DEFINING_TASKS = "Defining tasks"
    CALLING_TASKS = "Calling tasks"
    RESULTS_AND_STATE = "Results and state"
    RETRIES_AND_BACKOFF = "Retries and backoff"
    TIME_LIMITS = "Time limits"
    REVOKE = "Revoke"
    ACKS_LATE_AND_REDELIVERY = "Acks late and redelivery"
    RATE_LIMITS = "Rate limits"
    ROUTING_AND_PRIORITY = "Routing and priority"
    CANVAS = "Canvas"
    BEAT_SCHEDULES = "Beat schedules"
    ONE_SCHEDULER = "One scheduler"
    SIGNALS = "Signals"
    TESTING = "Testing"
    THE_FORK_PROBLEM = "The fork problem"
    LAYERED_FAULT_TOLERANCE = "Layered fault tolerance"
    CONNECTION_BUDGET = "Connection budget"
    STARTUP_TASKS = "Startup tasks"
    DIAGNOSIS = "Diagnosis"
    WORKER_RECYCLING = "Worker recycling"
    SERIALIZATION = "Serialization"

    @property
    def title(self) -> str:
        return self.value

    @property
    def anchor(self) -> str:
        return slugify(self.value)

    @property
    def link(self) -> str:
        return f"{GUIDE_PATH}#{self.anchor}"
