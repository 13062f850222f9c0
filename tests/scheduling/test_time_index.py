"""One-off schedules of past minutes are found through the `<prefix>:times` index on real Redis:
written through the runtime source, or by a writer that bypassed it (indexed at startup), and
forgotten once sent."""

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from taskiq import ScheduledTask
from taskiq.serializers import JSONSerializer
from taskiq_durable.scheduler.sources import RuntimeScheduleSource
from taskiq_redis import ListRedisScheduleSource

from core.settings import Settings


def one_off(schedule_id: str, at: datetime) -> ScheduledTask:
    return ScheduledTask(
        task_name="test.noop", labels={}, args=[], kwargs={}, schedule_id=schedule_id, time=at
    )


async def test_past_one_offs_are_read_from_the_index_and_forgotten_once_sent(
    settings: Settings, redis_client: Redis
) -> None:
    now = datetime.now(UTC)
    source = RuntimeScheduleSource(settings.durable())
    bypass = ListRedisScheduleSource(
        settings.redis_url, prefix=settings.key("schedule"), serializer=JSONSerializer()
    )
    try:
        await source.add_schedule(one_off("ours", now - timedelta(hours=2)))
        await bypass.add_schedule(one_off("theirs", now - timedelta(hours=1)))
        await source.add_schedule(one_off("future", now + timedelta(hours=1)))
        # Not yet due, and not indexed: neither is read.
        assert [s.schedule_id for s in await source.get_schedules()] == ["ours"]

        await source.startup()  # the scheduler's: indexes what bypassed the source
        assert sorted(s.schedule_id for s in await source.get_schedules()) == ["ours", "theirs"]

        await source.delete_schedule("ours")  # what post_send does once the tick is sent
        await source.delete_schedule("theirs")
        assert await source.get_schedules() == []
        # Only the future minute's list is left in the index.
        assert await redis_client.zrange(settings.key("schedule", "times"), 0, -1) == [
            source.keys.time(now + timedelta(hours=1)).encode()
        ]
    finally:
        await bypass.shutdown()
        await source.shutdown()
