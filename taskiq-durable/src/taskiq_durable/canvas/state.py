"""A chord's bookkeeping in Redis: JSON state, the set of finished members, the fired mark.

Keys live under `<prefix>:canvas:chord:<id>` and expire `result_ttl_seconds` after the last
member finished (each update refreshes them), like the member results they point to.
"""

from pydantic import BaseModel
from redis.asyncio import Redis

from taskiq_durable.canvas.signature import Signature
from taskiq_durable.config import DurableConfig

KICKED = "kicked"


class ChordState(BaseModel):
    member_ids: list[str]
    callback: Signature
    callback_id: str
    on_error: Signature | None = None


def chord_key(settings: DurableConfig, chord_id: str, *parts: str) -> str:
    return settings.key("canvas", "chord", chord_id, *parts)


async def save_chord(
    redis: Redis, settings: DurableConfig, chord_id: str, state: ChordState
) -> None:
    await redis.set(
        chord_key(settings, chord_id), state.model_dump_json(), ex=settings.result_ttl_seconds
    )


async def load_chord(redis: Redis, settings: DurableConfig, chord_id: str) -> ChordState | None:
    raw = await redis.get(chord_key(settings, chord_id))
    return None if raw is None else ChordState.model_validate_json(raw)


async def count_finished(
    redis: Redis, settings: DurableConfig, chord_id: str, member_id: str
) -> int:
    """Record `member_id` as finished; the number of distinct finished members.

    A set, not a counter: a redelivered member adds nothing the second time.
    """
    ttl = settings.result_ttl_seconds
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(chord_key(settings, chord_id, "done"), member_id)
        pipe.expire(chord_key(settings, chord_id, "done"), ttl)
        pipe.expire(chord_key(settings, chord_id), ttl)
        pipe.scard(chord_key(settings, chord_id, "done"))
        replies = await pipe.execute()
    return int(replies[-1])


async def fired(redis: Redis, settings: DurableConfig, chord_id: str) -> bool:
    """Whether a kick of the chord's outcome was recorded (a later kick would not run anyway:
    this only saves sending it)."""
    return await redis.get(chord_key(settings, chord_id, "fired")) is not None


async def mark_fired(redis: Redis, settings: DurableConfig, chord_id: str) -> None:
    """After the kick (for the state's lifetime)."""
    await redis.set(chord_key(settings, chord_id, "fired"), KICKED, ex=settings.result_ttl_seconds)
