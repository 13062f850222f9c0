"""The broker type the library's receiver and middlewares rely on: the stream broker, carrying
its configuration and its dead-letter store (`build_broker` makes one)."""

from taskiq import AsyncBroker

from taskiq_durable.config import DurableConfig
from taskiq_durable.connections import create_pool
from taskiq_durable.dead_letters.store import DeadLetterStore
from taskiq_durable.queues import stream_name
from taskiq_durable.result_backend import ResultBackend
from taskiq_durable.streams import DeliveryConfig, StreamBroker

__all__ = ["DurableBroker", "durable_broker"]


class DurableBroker(StreamBroker):
    """The stream broker, carrying what the library's receiver and middlewares need."""

    def __init__(self, config: DurableConfig, dead_letters: DeadLetterStore) -> None:
        super().__init__(
            config.redis_url,
            # The one stream a worker reads; kicks go where the routing middleware sends them.
            queue_name=stream_name(config, config.worker_queue),
            consumer_group_name=config.key("workers"),
            delivery=DeliveryConfig.from_config(config),
        )
        # taskiq-redis built a pool from the URL alone; this one follows the configured mode.
        self.connection_pool = create_pool(config)
        self.config = config
        self.dead_letters = dead_letters

    @property
    def results(self) -> ResultBackend:
        """The library's result backend (`build_broker` sets it): revoke and the waiter need it."""
        backend = self.result_backend
        if not isinstance(backend, ResultBackend):
            raise TypeError(
                f"the broker's result backend is a {type(backend).__name__}, not"
                " taskiq_durable.result_backend.ResultBackend: build it with build_broker"
            )
        return backend


def durable_broker(broker: AsyncBroker) -> DurableBroker:
    """`broker` as a `DurableBroker`; a clear error for any other broker."""
    if not isinstance(broker, DurableBroker):
        raise TypeError(
            f"{type(broker).__name__} is not a DurableBroker: build it with"
            " taskiq_durable.build_broker"
        )
    return broker
