"""Runtime schedules (django-celery-beat style): taskiq-redis's list source, in JSON, that
nudges running schedulers whenever a schedule is added or deleted.

Schedules added through this class are picked up within `SCHEDULER_POLL_SECONDS`; writes that
bypass it (another `ListRedisScheduleSource` on the same prefix) within
`SCHEDULER_REFRESH_SECONDS`.

One-off (`time`) schedules live in one list per minute, `<prefix>:time:<minute>`. taskiq-redis
finds the lists of past minutes by SCANning the whole keyspace on every read, which with many
result keys took most of a second and made every tick due meanwhile late. Here each list is
also indexed in the sorted set `<prefix>:times` (score: its minute), so a read is one range
query. `startup()` (the scheduler's) indexes, with one SCAN, the lists written before the index
existed or by writers that bypass this class; those writers' past-minute one-offs are therefore
seen at the next scheduler start, their current-minute ones at the next refresh as before.
"""

from datetime import UTC, datetime

from redis.asyncio import Redis
from taskiq import ScheduledTask
from taskiq.serializers import JSONSerializer
from taskiq_durable.config import DurableConfig
from taskiq_durable.scheduler.state import ScheduleState
from taskiq_redis import ListRedisScheduleSource

__all__ = ["RuntimeScheduleSource"]

# Drops a minute's list from the index only if it is still empty: atomic against an
# `add_schedule` that pushes to that list between our read and this removal.
FORGET_TIME_KEY = """
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('ZREM', KEYS[1], KEYS[2]) end
return 0
"""


class RuntimeScheduleSource(ListRedisScheduleSource):
    def __init__(self, settings: DurableConfig) -> None:
        # Opens nothing: the pool connects on first use, on the loop of the process using it.
        super().__init__(
            settings.redis_url,
            prefix=settings.key("schedule"),
            serializer=JSONSerializer(),  # taskiq-redis defaults to pickle
        )
        self._redis = Redis(connection_pool=self._connection_pool)
        self.state = ScheduleState(self._redis, settings)
        self._forget_time_key = self._redis.register_script(FORGET_TIME_KEY)

    async def startup(self) -> None:
        await super().startup()
        keys = [
            k.decode() async for k in self._redis.scan_iter(f"{self._prefix}:time:*", count=1000)
        ]
        await self._index(*keys)

    async def get_schedules(self) -> list[ScheduledTask]:
        """Cron and interval schedules, and one-offs from their minute on (this one's and every
        earlier one not yet sent), as taskiq-redis returns them without `skip_past_schedules`."""
        now = datetime.now(UTC)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self._get_cron_key(), 0, -1)
            pipe.lrange(self._get_interval_key(), 0, -1)
            pipe.zrangebyscore(self._times_key(), "-inf", now.timestamp())
            crons, intervals, indexed = await pipe.execute()
        # This minute's list even when unindexed: a write that bypassed this class.
        time_keys = list(dict.fromkeys([*indexed, self._get_time_key(now).encode()]))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in time_keys:
                pipe.lrange(key, 0, -1)
            lists: list[list[bytes]] = await pipe.execute()
        ids: list[bytes] = [*crons, *intervals]
        for key, listed in zip(time_keys, lists, strict=True):
            ids.extend(listed)
            if not listed and key in indexed:  # all sent (post_send deletes them)
                await self._forget_time_key(keys=[self._times_key(), key])
        if not ids:
            return []
        raws = await self._redis.mget([self._get_data_key(i.decode()) for i in ids])
        return [self._load(raw) for raw in raws if raw is not None]

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        await super().add_schedule(schedule)
        if schedule.time is not None:
            # After the list's RPUSH: the index never names a list that was never written.
            await self._index(self._get_time_key(schedule.time))
        else:
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

    async def _index(self, *time_keys: str) -> None:
        minutes = {key: self._parse_time_key(key) for key in time_keys}
        scores = {key: minute.timestamp() for key, minute in minutes.items() if minute is not None}
        if scores:
            await self._redis.zadd(self._times_key(), scores)

    def _times_key(self) -> str:
        return f"{self._prefix}:times"

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
