"""What the queue streams hold: per queue, per consumer, per delivered message.

Rows are plain dicts (one per line of output) so the CLI can print them as a table or JSON.
Each function is one or two Redis commands per queue; docs/patterns/diagnosis.md lists the
`redis-cli` equivalents.
"""

import json
from typing import Any

from redis.asyncio import Redis

from taskiq_durable.config import DurableConfig
from taskiq_durable.queues import stream_name
from taskiq_durable.readers import live_readers

Row = dict[str, Any]


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def message_summary(data: bytes | str) -> Row:
    """Task name and id of a stored message; a message that is not ours says so."""
    try:
        message = json.loads(data)
        return {"task": message["task_name"], "task_id": message["task_id"]}
    except (ValueError, KeyError, TypeError):
        return {"task": "<undecodable>", "task_id": None}


async def _group(redis: Redis, stream: str, group: str) -> Row | None:
    if not await redis.exists(stream):
        return None
    for info in await redis.xinfo_groups(stream):
        if _text(info["name"]) == group:
            row: Row = info
            return row
    return None


async def _read_queues(redis: Redis, settings: DurableConfig) -> list[tuple[str, str]]:
    """(queue, stream) of the queues some process has declared the workers' group on."""
    group = settings.key("workers")
    return [
        (queue, stream_name(settings, queue))
        for queue in settings.queues
        if await _group(redis, stream_name(settings, queue), group) is not None
    ]


async def queues(redis: Redis, settings: DurableConfig) -> list[Row]:
    """Per configured queue: entries in the stream, not yet delivered (backlog), delivered and
    unacked, and the live worker children reading it."""
    rows = []
    for queue in settings.queues:
        stream = stream_name(settings, queue)
        group = await _group(redis, stream, settings.key("workers"))
        rows.append(
            {
                "queue": queue,
                "stream": stream,
                "length": await redis.xlen(stream),
                # None until a worker (or the web) declared the group: everything is waiting.
                "waiting": (group["lag"] if group else await redis.xlen(stream)),
                "pending": group["pending"] if group else 0,
                "consumers": group["consumers"] if group else 0,
                # Worker children reading it now (consumers also counts exited ones for a
                # while): 0 means its messages wait for a worker to start.
                "readers": await live_readers(redis, settings, queue),
            }
        )
    return rows


async def consumers(redis: Redis, settings: DurableConfig) -> list[Row]:
    """Per worker child (consumer): messages it holds and how long since it was last heard of."""
    rows = []
    group = settings.key("workers")
    for queue, stream in await _read_queues(redis, settings):
        for info in await redis.xinfo_consumers(stream, group):
            rows.append(
                {
                    "queue": queue,
                    "consumer": _text(info["name"]),
                    "pending": info["pending"],
                    "idle_s": round(info["idle"] / 1000, 1),
                }
            )
    return rows


async def active(redis: Redis, settings: DurableConfig, *, limit: int = 100) -> list[Row]:
    """Delivered, unacknowledged messages: running or fetched to run next (Celery's
    `active` + `reserved`). `idle_s` restarts at every heartbeat of a live consumer, so a large
    one means its consumer died and the message waits for reclaim."""
    rows = []
    group = settings.key("workers")
    for queue, stream in await _read_queues(redis, settings):
        # redis-py types these replies loosely; the shapes are documented RESP2 replies.
        entries: list[Any] = await redis.xpending_range(stream, group, "-", "+", limit)
        for entry in entries:
            message_id = entry["message_id"].decode()
            stored: Any = await redis.xrange(stream, message_id, message_id)
            summary = (
                message_summary(stored[0][1][b"data"])
                if stored
                else {"task": "<trimmed>", "task_id": None}
            )
            rows.append(
                {
                    "queue": queue,
                    "consumer": entry["consumer"].decode(),
                    **summary,
                    "message_id": message_id,
                    "idle_s": round(entry["time_since_delivered"] / 1000, 1),
                    "deliveries": entry["times_delivered"],
                }
            )
    return rows
