"""Trim acknowledged entries off the stream, never an undelivered or pending one.

XACK leaves entries in the stream, and taskiq-redis's `maxlen` trims by count, which drops
the oldest entries whether or not they ran (a backlog longer than `maxlen` loses tasks). We
trim by id instead: every entry below both the oldest pending id and the group's last
delivered id has been delivered and acknowledged, by every group of the stream.
"""

from redis.asyncio import Redis

from taskiq_durable.streams.ids import as_text, next_id, parse_id


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
    lowest = min(floors, key=parse_id)
    return None if lowest == "0-1" else lowest


async def trim_once(redis: Redis, stream: str) -> int:
    """Trim `stream` safely; returns how many entries were removed."""
    groups = []
    for info in await redis.xinfo_groups(stream):
        name = info["name"]
        oldest = (await redis.xpending(stream, name))["min"]
        groups.append(
            (as_text(info["last-delivered-id"]), None if oldest is None else as_text(oldest))
        )
    floor = trim_floor(groups)
    if floor is None:
        return 0
    # Exact trimming: nothing below the floor survives, and the floor entry itself stays.
    removed: int = await redis.xtrim(stream, minid=floor, approximate=False)
    return removed
