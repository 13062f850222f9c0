"""Trim acknowledged entries off the stream, never an undelivered or pending one.

XACK leaves entries in the stream, and taskiq-redis's `maxlen` trims by count, which drops
the oldest entries whether or not they ran (a backlog longer than `maxlen` loses tasks). We
trim by id instead: every entry below both the oldest pending id and the group's last
delivered id has been delivered and acknowledged, by every group of the stream.
"""

import asyncio
import logging

from redis.asyncio import Redis

from tasks.streams.reconnect import OUTAGE_ERRORS, Outage

logger = logging.getLogger(__name__)


def _parse(stream_id: str) -> tuple[int, int]:
    millis, _, seq = stream_id.partition("-")
    return int(millis), int(seq or 0)


def next_id(stream_id: str) -> str:
    millis, seq = _parse(stream_id)
    return f"{millis}-{seq + 1}"


def trim_floor(groups: list[tuple[str, str | None]]) -> str | None:
    """The lowest id to keep, from each group's (last delivered id, oldest pending id or None).

    Entries below it are safe to drop; None means keep everything (no group has read yet).
    """
    floors = [
        oldest_pending if oldest_pending is not None else next_id(last_delivered)
        for last_delivered, oldest_pending in groups
    ]
    if not floors:
        return None
    lowest = min(floors, key=_parse)
    return None if lowest == "0-1" else lowest


async def trim_once(redis: Redis, stream: str) -> int:
    """Trim `stream` safely; returns how many entries were removed."""
    groups = []
    for info in await redis.xinfo_groups(stream):
        name = info["name"]
        oldest = (await redis.xpending(stream, name))["min"]
        groups.append((_text(info["last-delivered-id"]), None if oldest is None else _text(oldest)))
    floor = trim_floor(groups)
    if floor is None:
        return 0
    # Exact trimming: nothing below the floor survives, and the floor entry itself stays.
    removed: int = await redis.xtrim(stream, minid=floor, approximate=False)
    return removed


async def run_trimmer(redis: Redis, stream: str, *, interval: float) -> None:
    outage = Outage(logger, "trimmer")
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await trim_once(redis, stream)
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
            logger.debug("trimmed %d acknowledged entries from %s", removed, stream)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
