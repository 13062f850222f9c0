"""When a worker child stops fetching and is replaced: max tasks or max memory per child.

The decision is a pure function; the listen loop asks it before every delivery and, once it
answers, returns: taskiq's receiver then drains the running tasks, the child exits, and
`taskiq worker` starts a fresh one. We do this in the broker rather than with taskiq's
`--max-tasks-per-child` so that one limit covers both reasons, and because taskiq 0.13 counts
every child exit, including these normal recycles, against `--max-fails` (process_manager.py),
which is why the Procfile sets neither flag.
"""

import os
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecyclePolicy:
    max_tasks: int  # 0 = no limit
    max_memory_mb: int  # 0 = no limit

    def reason(self, *, fetched: int, rss_bytes: int) -> str | None:
        """Why this child should stop fetching now, or None to go on."""
        if self.max_tasks and fetched >= self.max_tasks:
            return f"fetched {fetched} tasks (WORKER_MAX_TASKS_PER_CHILD={self.max_tasks})"
        # At least one task per child: a child born over the limit would otherwise respawn
        # forever without running anything.
        if self.max_memory_mb and fetched and rss_bytes > self.max_memory_mb * MIB:
            return (
                f"resident memory {rss_bytes / MIB:.0f} MiB is over "
                f"WORKER_MAX_MEMORY_MB={self.max_memory_mb}"
            )
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE")


def current_rss() -> int:
    """This process's resident set size in bytes (Linux: /proc/self/statm, no dependency)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE
