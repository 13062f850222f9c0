"""taskiq-durable: at-least-once delivery, retries, dead letters, time limits, revoke, canvas and a
leader-locked scheduler for taskiq on Redis streams.

    from taskiq_durable import DurableConfig, build_broker
    from taskiq_durable.dead_letters.sql import SqlDeadLetterStore

    broker = build_broker(DurableConfig(redis_url=..., queues=("default", "urgent")),
                          dead_letters=SqlDeadLetterStore())

and run workers with `taskiq worker myservice.broker:broker myservice.tasks
--receiver taskiq_durable:DurableReceiver`. docs/adopting.md walks through a whole service.
"""

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives. Resolved on first use, so that `python -m
# taskiq_durable.cpu_process` (a CPU-pool process, started per worker child within a time limit)
# does not import the broker, taskiq and redis it never uses.
_EXPORTS = {
    "DeadLetter": "taskiq_durable.dead_letters.letters",
    "DeadLetterReason": "taskiq_durable.dead_letters.letters",
    "DeadLetterStore": "taskiq_durable.dead_letters.store",
    "DurableBroker": "taskiq_durable.durable_broker",
    "DurableConfig": "taskiq_durable.config",
    "DurableReceiver": "taskiq_durable.receiver",
    "OutboxRelay": "taskiq_durable.outbox.relay",
    "OutboxStats": "taskiq_durable.outbox.stats",
    "Retries": "taskiq_durable.retry",
    "RetryInfo": "taskiq_durable.retry",
    "apply_async": "taskiq_durable.calling",
    "build_broker": "taskiq_durable.broker",
    "first_processing": "taskiq_durable.outbox.idempotency",
    "kick_after_commit": "taskiq_durable.outbox.kick",
    "later": "taskiq_durable.delayed",
    "outbox_kicker": "taskiq_durable.outbox.kick",
    "outbox_stats": "taskiq_durable.outbox.stats",
}

__all__ = [
    "DeadLetter",
    "DeadLetterReason",
    "DeadLetterStore",
    "DurableBroker",
    "DurableConfig",
    "DurableReceiver",
    "OutboxRelay",
    "OutboxStats",
    "Retries",
    "RetryInfo",
    "apply_async",
    "build_broker",
    "first_processing",
    "kick_after_commit",
    "later",
    "outbox_kicker",
    "outbox_stats",
]

if TYPE_CHECKING:
    from taskiq_durable.broker import build_broker
    from taskiq_durable.calling import apply_async
    from taskiq_durable.config import DurableConfig
    from taskiq_durable.dead_letters.letters import DeadLetter, DeadLetterReason
    from taskiq_durable.dead_letters.store import DeadLetterStore
    from taskiq_durable.delayed import later
    from taskiq_durable.durable_broker import DurableBroker
    from taskiq_durable.outbox.idempotency import first_processing
    from taskiq_durable.outbox.kick import kick_after_commit, outbox_kicker
    from taskiq_durable.outbox.relay import OutboxRelay
    from taskiq_durable.outbox.stats import OutboxStats, outbox_stats
    from taskiq_durable.receiver import DurableReceiver
    from taskiq_durable.retry import Retries, RetryInfo


# Optional dependencies, by the extra that brings them (taskiq-durable/pyproject.toml).
_EXTRAS = {"sqlalchemy": "sql"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'taskiq_durable' has no attribute {name!r}")
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        # The name is listed here, so its absence is an install choice: say which one.
        raise ModuleNotFoundError(
            f"taskiq_durable.{name} needs the {extra!r} extra:"
            f" pip install 'taskiq-durable[{extra}]' ({exc})",
            name=exc.name,
        ) from exc
    return getattr(imported, name)
