"""Where a worker keeps dead letters: any object with an async `record`.

The worker only ever writes; reading and replaying belong to the store's own API (the SQL
store's `list_letters` / `replay`), since what can be queried depends on where letters live.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from taskiq_durable.backoff import RETRIES
from taskiq_durable.dead_letters.letters import DeadLetter
from taskiq_durable.delayed import ETA
from taskiq_durable.rate_limit import RATE_SLOT

__all__ = ["DeadLetterStore", "replay_labels"]

# Delivery state of the failed run; a replay starts over with the full retry budget.
_RUN_LABELS = (RETRIES, ETA, RATE_SLOT)


class DeadLetterStore(Protocol):
    async def record(self, letter: DeadLetter) -> None:
        """Keep `letter` durably; raise if it could not be kept (the message is then not
        acknowledged, so it is delivered again rather than lost)."""


def replay_labels(labels: Mapping[str, Any]) -> dict[str, Any]:
    """The labels a replayed letter is kicked with: its own, less the failed run's state."""
    return {k: v for k, v in labels.items() if k not in _RUN_LABELS}
