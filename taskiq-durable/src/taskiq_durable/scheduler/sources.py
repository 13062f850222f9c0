"""Runtime schedules (django-celery-beat style): a schedule source on taskiq-redis's list
layout (taskiq_durable.compat), in JSON, that nudges running schedulers whenever a schedule is
added or deleted.

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

from taskiq import ScheduledTask, ScheduleSource
from taskiq.serializers import JSONSerializer

from taskiq_durable.compat import ScheduleKeys
from taskiq_durable.config import DurableConfig
from taskiq_durable.connections import create_redis
from taskiq_durable.scheduler.state import ScheduleState

__all__ = ["RuntimeScheduleSource"]

# Drops a minute's list from the index only if it is still empty: atomic against an
# `add_schedule` that pushes to that list between our read and this removal.
FORGET_TIME_KEY = """
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('ZREM', KEYS[1], KEYS[2]) end
return 0
"""


class RuntimeScheduleSource(ScheduleSource):
    def __init__(self, settings: DurableConfig) -> None:
        # Opens nothing: the pool connects on first use, on the loop of the process using it.
        self.keys = ScheduleKeys(settings.key("schedule"))
        self._times_key = f"{self.keys.prefix}:times"
        self._serializer = JSONSerializer()
        self._redis = create_redis(settings)
        self.state = ScheduleState(self._redis, settings)
        self._forget_time_key = self._redis.register_script(FORGET_TIME_KEY)

    async def startup(self) -> None:
        keys = [k.decode() async for k in self._redis.scan_iter(self.keys.time_pattern, count=1000)]
        await self._index(*keys)

    async def shutdown(self) -> None:
        await self._redis.aclose()

    async def get_schedules(self) -> list[ScheduledTask]:
        """Cron and interval schedules, and one-offs from their minute on (this one's and every
        earlier one not yet sent), as taskiq-redis returns them without `skip_past_schedules`."""
        now = datetime.now(UTC)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.keys.cron, 0, -1)
            pipe.lrange(self.keys.interval, 0, -1)
            pipe.zrangebyscore(self._times_key, "-inf", now.timestamp())
            crons, intervals, indexed = await pipe.execute()
        # This minute's list even when unindexed: a write that bypassed this class.
        time_keys = list(dict.fromkeys([*indexed, self.keys.time(now).encode()]))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in time_keys:
                pipe.lrange(key, 0, -1)
            lists: list[list[bytes]] = await pipe.execute()
        ids: list[bytes] = [*crons, *intervals]
        for key, listed in zip(time_keys, lists, strict=True):
            ids.extend(listed)
            if not listed and key in indexed:  # all sent (post_send deletes them)
                await self._forget_time_key(keys=[self._times_key, key])
        if not ids:
            return []
        raws = await self._redis.mget([self.keys.data(i.decode()) for i in ids])
        return [self._load(raw) for raw in raws if raw is not None]

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.data(schedule.schedule_id), self._dump(schedule))
            pipe.rpush(self._list_key(schedule), schedule.schedule_id)
            if schedule.time is not None:
                # With the list's RPUSH: the index never names a list that was never written.
                pipe.zadd(self._times_key, self._scores(self.keys.time(schedule.time)))
            await pipe.execute()
        if schedule.time is None:
            # Counting starts now: downtime after this moment is a misfire, before it is not.
            await self.state.reset(schedule.schedule_id, datetime.now(UTC))
        await self.state.bump()

    async def delete_schedule(self, schedule_id: str) -> None:
        raw = await self._redis.getdel(self.keys.data(schedule_id))
        if raw is not None:
            await self._redis.lrem(self._list_key(self._load(raw)), 0, schedule_id)
        await self.state.forget(schedule_id)
        await self.state.bump()

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off is done once sent."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)

    async def get_schedule(self, schedule_id: str) -> ScheduledTask | None:
        raw = await self._redis.get(self.keys.data(schedule_id))
        return None if raw is None else self._load(raw)

    async def all_schedules(self) -> list[ScheduledTask]:
        """Every stored schedule, one-offs of future minutes included (`get_schedules` skips
        those: it returns what may be due now)."""
        keys = [key async for key in self._redis.scan_iter(self.keys.data("*"), count=500)]
        raws = await self._redis.mget(keys) if keys else []
        return sorted(
            (self._load(raw) for raw in raws if raw is not None), key=lambda s: s.schedule_id
        )

    def _list_key(self, schedule: ScheduledTask) -> str:
        if schedule.cron is not None:
            return self.keys.cron
        if schedule.time is not None:
            return self.keys.time(schedule.time)
        return self.keys.interval

    async def _index(self, *time_keys: str) -> None:
        if scores := self._scores(*time_keys):
            await self._redis.zadd(self._times_key, scores)

    def _scores(self, *time_keys: str) -> dict[str, float]:
        """Index entries of one-off lists: each scored by its minute."""
        minutes = {key: self.keys.minute_of(key) for key in time_keys}
        return {key: minute.timestamp() for key, minute in minutes.items() if minute is not None}

    def _dump(self, schedule: ScheduledTask) -> bytes:
        return self._serializer.dumpb(schedule.model_dump(mode="json"))

    def _load(self, raw: bytes | str) -> ScheduledTask:
        return ScheduledTask.model_validate(
            self._serializer.loadb(raw.encode() if isinstance(raw, str) else raw)
        )
