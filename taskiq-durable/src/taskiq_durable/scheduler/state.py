"""What every scheduler process shares in Redis: the last handled tick per schedule, and a
version number that changes whenever a runtime schedule is added or deleted.

The last-handled mark is the exactly-once guard. `advance` moves it forward atomically only if
the tick is newer than the mark, so of two schedulers racing for one tick exactly one wins, a
lagging scheduler can never send an older tick after a newer one, and a restarted scheduler
finds that this minute's tick was already sent. It costs one sorted-set member per schedule
(scores are epoch milliseconds), not one key per tick, and it is also the "last fired" time the
misfire policy needs.

A one-off schedule has a single tick, so its guard is a plain claim, `SET NX` with a day's TTL:
marks for one-offs (retries with a delay are one-offs) would otherwise pile up forever.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskiq_durable.config import DurableConfig

__all__ = ["Advance", "ScheduleState"]

ONE_OFF_CLAIM_SECONDS = 24 * 3600

# Returns {1, previous score or ""} when the mark moved to ARGV[2], {0, current} otherwise.
ADVANCE = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then return {0, current} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return {1, current or ''}
"""
# Puts the previous mark back, unless another scheduler has moved it on since.
ROLLBACK = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1])
else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""


def to_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def from_ms(score: float) -> datetime:
    return datetime.fromtimestamp(score / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Advance:
    won: bool
    previous: str  # the mark before, as stored ("" when there was none): what rollback restores


class ScheduleState:
    def __init__(self, redis: Redis, settings: DurableConfig) -> None:
        self._redis = redis
        self._marks = settings.key("schedule", "handled")
        self._version = settings.key("schedule", "version")
        self._settings = settings
        self._advance = redis.register_script(ADVANCE)
        self._rollback = redis.register_script(ROLLBACK)

    async def handled(self, schedule_ids: Sequence[str]) -> dict[str, datetime | None]:
        """The last handled tick of each schedule (None: never seen by any scheduler)."""
        if not schedule_ids:
            return {}
        scores = await self._redis.zmscore(self._marks, list(schedule_ids))
        return {
            sid: None if score is None else from_ms(score)
            for sid, score in zip(schedule_ids, scores, strict=True)
        }

    async def handled_once(self, schedule_ids: Sequence[str]) -> dict[str, datetime | None]:
        """When each one-off schedule was sent (None: not yet, or over a day ago)."""
        if not schedule_ids:
            return {}
        values = await self._redis.mget([self._claim(sid) for sid in schedule_ids])
        return {
            sid: None if value is None else from_ms(int(value))
            for sid, value in zip(schedule_ids, values, strict=True)
        }

    async def claim_once(self, schedule_id: str, tick: datetime) -> bool:
        claimed = await self._redis.set(
            self._claim(schedule_id), to_ms(tick), nx=True, ex=ONE_OFF_CLAIM_SECONDS
        )
        return bool(claimed)

    async def release_once(self, schedule_id: str) -> None:
        """Undo `claim_once` after the send failed, so the one-off is tried again."""
        await self._redis.delete(self._claim(schedule_id))

    def _claim(self, schedule_id: str) -> str:
        return self._settings.key("schedule", "sent-once", schedule_id)

    async def register(self, schedule_id: str, at: datetime) -> datetime:
        """Start counting ticks after `at`, unless the schedule already has a mark; the mark."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._marks, {schedule_id: to_ms(at)}, nx=True)
            pipe.zscore(self._marks, schedule_id)
            _, score = await pipe.execute()
        return from_ms(score)

    async def reset(self, schedule_id: str, at: datetime) -> None:
        """A (re)created schedule: ticks up to `at` are not its own, ticks after it are."""
        await self._redis.zadd(self._marks, {schedule_id: to_ms(at)})

    async def forget(self, schedule_id: str) -> None:
        await self._redis.zrem(self._marks, schedule_id)

    async def advance(self, schedule_id: str, tick: datetime) -> Advance:
        won, previous = await self._advance(keys=[self._marks], args=[schedule_id, to_ms(tick)])
        return Advance(won=bool(won), previous=previous.decode())

    async def rollback(self, schedule_id: str, tick: datetime, previous: str) -> None:
        """Undo `advance` after the send failed, so the tick is tried again."""
        await self._rollback(keys=[self._marks], args=[schedule_id, to_ms(tick), previous])

    async def version(self) -> int:
        return int(await self._redis.get(self._version) or 0)

    async def bump(self) -> None:
        """Tell running schedulers to re-read their sources now."""
        await self._redis.incr(self._version)
