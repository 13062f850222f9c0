"""How our stream broker delivers: every timing it uses, derived from the settings in one place."""

from dataclasses import dataclass

from taskiq_durable.config import DurableConfig

# XREADGROUP blocks at most this long, well under redis-py 8's 5 s socket timeout: a read that
# outlives the socket timeout raises, which is how taskiq-redis brokers die on idle queues.
MAX_READ_BLOCK_SECONDS = 2.0


def heartbeat_interval(redelivery_timeout: float) -> float:
    """Three heartbeats per redelivery timeout: two may be late before a running task looks idle."""
    return redelivery_timeout / 3


def read_block_ms(reclaim_interval: float) -> int:
    """An idle read returns in time for the next reclaim tick, and never outlives the socket."""
    return max(1, int(min(reclaim_interval, MAX_READ_BLOCK_SECONDS) * 1000))


def recovery_bound(redelivery_timeout: float, reclaim_interval: float) -> float:
    """Worst case from a consumer's death to its messages being claimed by a live one.

    The last heartbeat may have run just before the death, so the messages become claimable
    `redelivery_timeout` later, and an idle consumer looks at most `reclaim_interval` after that.
    """
    return redelivery_timeout + reclaim_interval


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    redelivery_timeout: float
    reclaim_interval: float
    trim_interval: float
    max_tasks_per_child: int
    max_memory_mb: int
    # A kick returns once this many replicas hold the message (WAIT); 0: once the master does.
    kick_replicas: int = 0

    @classmethod
    def from_config(cls, config: DurableConfig) -> "DeliveryConfig":
        return cls(
            redelivery_timeout=config.redelivery_timeout_seconds,
            reclaim_interval=config.reclaim_interval_seconds,
            trim_interval=config.stream_trim_interval_seconds,
            max_tasks_per_child=config.worker_max_tasks_per_child,
            max_memory_mb=config.worker_max_memory_mb,
            kick_replicas=config.redis_kick_replicas,
        )

    @property
    def redelivery_timeout_ms(self) -> int:
        return int(self.redelivery_timeout * 1000)

    @property
    def heartbeat_interval(self) -> float:
        return heartbeat_interval(self.redelivery_timeout)

    @property
    def read_block_ms(self) -> int:
        return read_block_ms(self.reclaim_interval)

    @property
    def recovery_bound(self) -> float:
        return recovery_bound(self.redelivery_timeout, self.reclaim_interval)
