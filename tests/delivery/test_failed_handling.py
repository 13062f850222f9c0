"""A message whose handling fails outside its task (here: an invalid `ack_type` label, which
taskiq rejects after the middlewares ran) is logged and released, not heartbeated forever:
it is redelivered after the redelivery timeout, like a crash."""

from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts
from tests.delivery.tasks_for_tests import touch
from tests.support.processes import wait_until


async def test_failed_handling_is_logged_and_redelivered(
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
) -> None:
    worker = start_worker(
        WORKER_PROCESSES="1",
        REDELIVERY_TIMEOUT_SECONDS="1",
        RECLAIM_INTERVAL_SECONDS="0.3",
    )
    await touch.kicker().with_broker(client_broker).with_labels(ack_type="bogus").kiq("broken")

    def delivered_twice() -> bool:
        entries = stream.redis.xpending_range(stream.stream, stream.group, "-", "+", 10)
        return any(int(entry["times_delivered"]) >= 2 for entry in entries)

    wait_until(delivered_twice, within=60, what="a second delivery")
    assert "failed outside its task; it will be redelivered" in worker.log()
    assert run_counts(sync_redis, settings) == {}  # the task body never ran
