"""Delete consumers that left the group: empty, and silent for much longer than any live one.

Every worker child is a new consumer (`host:pid:random`), so each restart, crash or recycle
leaves one behind in the group for ever. A live consumer reads at least every 2 s, or holds
the messages it runs; one with nothing pending and silent for ten redelivery timeouts is gone.
The check and the delete run in one script, so a consumer that fetched meanwhile is kept.
"""

from dataclasses import dataclass

from redis.asyncio import Redis

from taskiq_durable.streams.ids import as_text

# Delete the consumer only if it has nothing pending (XGROUP DELCONSUMER would drop its entries).
_DELETE_IF_EMPTY = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
    return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    pending: int
    idle_ms: int


def departed(consumers: list[Consumer], *, min_idle_ms: int) -> list[str]:
    """Names of the consumers that hold nothing and have been silent at least `min_idle_ms`."""
    return [c.name for c in consumers if c.pending == 0 and c.idle_ms >= min_idle_ms]


async def prune_consumers(redis: Redis, stream: str, group: str, *, min_idle_ms: int) -> int:
    """Delete the departed consumers of `group`; returns how many went."""
    consumers = [
        Consumer(as_text(info["name"]), int(info["pending"]), int(info["idle"]))
        for info in await redis.xinfo_consumers(stream, group)
    ]
    deleted = 0
    for name in departed(consumers, min_idle_ms=min_idle_ms):
        if await redis.eval(_DELETE_IF_EMPTY, 1, stream, group, name) == 0:
            deleted += 1
    return deleted
