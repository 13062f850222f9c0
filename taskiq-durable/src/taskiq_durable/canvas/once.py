"""Run-once messages: of all the kicks of one logical message (a chord's outcome), the worker
runs exactly one kick, however often each kick is delivered.

A chord member that completes the chord may die after it kicked the callback and before it
recorded that it did; its redelivered run can't tell, and kicks again. Rather than an
exactly-once kick (impossible across a crash), every kick carries the logical key
(`canvas_once`) and a fresh nonce (`canvas_kick`); admission (`taskiq_durable.admission`) runs a
message only if its nonce is the first one recorded under its key, or is that nonce again (a
redelivery of the kick that won), and acknowledges any other kick unrun. Kicking again is then
always safe, so a member's redelivered run kicks whenever the chord is complete and not yet
known to be fired.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from taskiq_durable.config import DurableConfig

__all__ = ["KICK", "ONCE", "first_kick", "once_labels"]

ONCE = "canvas_once"
KICK = "canvas_kick"

# KEYS[1]: the key's record; ARGV: this kick's nonce, TTL in s. 1 when this kick is to run.
_FIRST = """
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if holder == ARGV[1] then return 1 end
return 0
"""


def once_labels(key: str) -> dict[str, str]:
    """The labels of one kick of the run-once message `key`."""
    return {ONCE: key, KICK: uuid.uuid4().hex}


async def first_kick(redis: Redis, config: DurableConfig, labels: Mapping[str, Any]) -> bool:
    """Whether this message is to run: not a run-once message, or its winning kick."""
    key = labels.get(ONCE)
    if key is None:
        return True
    nonce = str(labels.get(KICK, ""))
    record = config.key("canvas", "once", str(key))
    return bool(await redis.eval(_FIRST, 1, record, nonce, config.result_ttl_seconds))
