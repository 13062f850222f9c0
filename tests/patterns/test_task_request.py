"""On a real worker: a task reads its request (Celery's `self.request`), retries count up under
one task id, shared tasks run, every attempt leaves its signal lines in order, and everything
the run left in Redis is JSON.

One worker run for the three, as each would spend most of its time starting a worker.
"""

import json
import re
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, async_shared_broker

from core.settings import Settings
from tasks.broker import broker as app_broker
from tasks.examples import request_info, shared_request_info
from tests.conftest import StartProcess
from tests.patterns.conftest import start_worker

SIGNAL = re.compile(r"\] (task_\w+) task=(\S+) id=(\S+) attempt=(\d+)(?:.* state=(\w+))?")


def signals_of(log: str, task_id: str) -> list[tuple[str, int, str | None]]:
    return [
        (event, int(attempt), state or None)
        for event, _task, found_id, attempt, state in SIGNAL.findall(log)
        if found_id == task_id
    ]


async def stored_values(redis: Redis, key: str) -> list[Any]:
    """What `key` holds, whatever its type (stream entries: their `data` field)."""
    # redis-py types its replies loosely; these are the RESP2 shapes.
    reply: Any = await redis.type(key)
    kind = reply.decode()
    if kind == "string":
        return [await redis.get(key)]
    if kind == "stream":
        reply = await redis.xrange(key)
        return [fields[b"data"] for _id, fields in reply]
    if kind == "hash":
        reply = await redis.hgetall(key)
        return list(reply.values())
    if kind == "list":
        reply = await redis.lrange(key, 0, -1)
    elif kind == "zset":
        reply = await redis.zrange(key, 0, -1)
    else:
        reply = await redis.smembers(key)
    return list(reply)


async def non_json_values(redis: Redis, prefix: str) -> dict[str, Any]:
    """Every value under `prefix` that is not JSON, by key. The live-worker indexes (sorted
    sets of consumer names, `<prefix>:readers:<queue>` and `<prefix>:workers`) hold identifiers,
    not serialised data; the documents they point to are checked like every other value."""
    bad: dict[str, Any] = {}
    indexes = (f"{prefix}:readers:", f"{prefix}:workers")
    async for raw_key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        key = raw_key.decode()
        if key.startswith(indexes[0]) or key == indexes[1]:
            continue
        for value in await stored_values(redis, key):
            try:
                json.loads(value)
            except ValueError:
                bad[key] = value
    return bad


async def test_request_retries_signals_and_json_on_a_real_worker(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    worker = start_worker(start, concurrency=4)

    # Celery: @app.task(bind=True) ... self.request.id / .retries / .delivery_info
    kicker = request_info.kicker().with_broker(client_broker)
    task = await kicker.with_task_id("order-42").with_labels(tenant="acme").kiq(fail_attempts=1)
    result = await task.wait_result(timeout=90)
    assert not result.is_err, result.error
    info: dict[str, Any] = result.return_value
    assert (info["id"], info["task"], info["retries"], info["max_attempts"]) == (
        "order-42",
        "examples.request_info",
        1,
        3,
    )
    assert info["queue"] == settings.key("queue", "default")
    assert info["labels"]["tenant"] == "acme"
    assert info["kwargs"] == {"fail_attempts": 1}

    doomed = await request_info.kicker().with_broker(client_broker).with_task_id("doomed").kiq(9)
    assert (await doomed.wait_result(timeout=30)).is_err

    # Celery: @shared_task; sent through whichever broker the app made the shared default.
    async_shared_broker.default_broker(client_broker)
    try:
        shared = await (await shared_request_info.kiq()).wait_result(timeout=30)
    finally:
        async_shared_broker.default_broker(app_broker)
    assert shared.return_value["task"] == "examples.shared_request_info"

    # Celery's task_prerun / task_retry / task_failure / task_success / task_postrun
    log = worker.log()
    assert signals_of(log, "order-42") == [
        ("task_prerun", 1, None),
        ("task_retry", 1, None),
        ("task_postrun", 1, "RETRY"),
        ("task_prerun", 2, None),
        ("task_success", 2, None),
        ("task_postrun", 2, "SUCCESS"),
    ]
    assert [event for event, _attempt, _state in signals_of(log, "doomed")][-3:] == [
        "task_prerun",
        "task_failure",
        "task_postrun",
    ]
    assert "task_failure task=examples.request_info id=doomed attempt=3" in log
    assert "exc=RuntimeError('attempt 3 of 3 fails on request')" in log

    # No pickle anywhere: messages, results, progress, delayed retries are all JSON.
    assert await redis_client.exists(settings.key("result", "order-42"))
    assert await non_json_values(redis_client, settings.redis_prefix) == {}
