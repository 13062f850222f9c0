"""Runtime schedules (django-celery-beat style): taskiq-redis's list source, in JSON, that
nudges running schedulers whenever a schedule is added or deleted.

Schedules added through this class are picked up within `SCHEDULER_POLL_SECONDS`; writes that
bypass it (another `ListRedisScheduleSource` on the same prefix) within
`SCHEDULER_REFRESH_SECONDS`.
"""

from datetime import UTC, datetime

from redis.asyncio import Redis
from taskiq import ScheduledTask
from taskiq.serializers import JSONSerializer
from taskiq_redis import ListRedisScheduleSource

from core.settings import Settings
from scheduler.state import ScheduleState

__all__ = ["RuntimeScheduleSource"]


class RuntimeScheduleSource(ListRedisScheduleSource):
    def __init__(self, settings: Settings) -> None:
        # Opens nothing: the pool connects on first use, on the loop of the process using it.
        super().__init__(
            settings.redis_url,
            prefix=settings.key("schedule"),
            serializer=JSONSerializer(),  # taskiq-redis defaults to pickle
        )
        self._redis = Redis(connection_pool=self._connection_pool)
        self.state = ScheduleState(self._redis, settings)

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        await super().add_schedule(schedule)
        if schedule.time is None:
            # Counting starts now: downtime after this moment is a misfire, before it is not.
            await self.state.reset(schedule.schedule_id, datetime.now(UTC))
        await self.state.bump()

    async def delete_schedule(self, schedule_id: str) -> None:
        await super().delete_schedule(schedule_id)
        await self.state.forget(schedule_id)
        await self.state.bump()

    async def get_schedule(self, schedule_id: str) -> ScheduledTask | None:
        raw = await self._redis.get(self._get_data_key(schedule_id))
        return None if raw is None else self._load(raw)

    async def all_schedules(self) -> list[ScheduledTask]:
        """Every stored schedule, one-offs of future minutes included (`get_schedules` skips
        those: it returns what may be due now)."""
        keys = [key async for key in self._redis.scan_iter(self._get_data_key("*"), count=500)]
        raws = await self._redis.mget(keys) if keys else []
        return sorted(
            (self._load(raw) for raw in raws if raw is not None), key=lambda s: s.schedule_id
        )

    async def shutdown(self) -> None:
        await self._connection_pool.disconnect()
        await super().shutdown()

    def _parse_time_key(self, key: str) -> datetime | None:
        # taskiq-redis 1.2.4 takes the text after the *second* colon as the time, so with a
        # prefix that has a colon of its own (ours: "<REDIS_PREFIX>:schedule") every past
        # one-off schedule was silently dropped.
        minute = key.removeprefix(f"{self._prefix}:time:")
        try:
            return datetime.strptime(minute, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
        except ValueError:
            return None

    def _load(self, raw: bytes | str) -> ScheduledTask:
        return ScheduledTask.model_validate(
            self._serializer.loadb(raw.encode() if isinstance(raw, str) else raw)
        )
