"""The outbox's cost: kicks/s and latency through `kick_after_commit` against direct kicks.

    .venv/bin/python -m bench.outbox [--kicks 2000] [--concurrency 20] [--rounds 3]

Against DATABASE_URL / REDIS_URL (the schema at head: `make release`), under a fresh Redis
prefix. Each operation is what a route does: write a row and commit, and kick a task about it.

- direct: insert, commit, then `kiq()` (the route as it was: a crash or a Redis outage between
  the two loses the kick);
- outbox: insert and `kick_after_commit` in one transaction, commit; the fast path sends.

Rounds alternate the two modes, side by side in one run. Throughput counts an operation done
when its message is on the stream (the outbox waits for its fast-path sends); "response" is
what the caller waits for; "to stream" is the stream entry's time (Redis clock, same host)
minus the operation's start. Nothing consumes the messages: no worker runs.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker
from taskiq_durable import kick_after_commit
from taskiq_durable.outbox.kick import wait_for_sends
from taskiq_durable.outbox.table import outbox_table

from core.settings import Settings
from tasks.broker import build_stack_broker

TABLE = "bench_outbox_rows"
TASK = "bench.outbox.noop"  # never run: only its messages on the stream are looked at

Operation = Callable[[AsyncSession, uuid.UUID], Awaitable[str]]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_mode(
    name: str,
    operation: Operation,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    stream: str,
    *,
    kicks: int,
    concurrency: int,
) -> dict[str, Any]:
    started: dict[str, float] = {}
    responses: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            begin = time.time()
            async with sessions() as session:
                task_id = await operation(session, uuid.uuid4())
            responses.append(time.time() - begin)
            started[task_id] = begin

    begin = time.perf_counter()
    await asyncio.gather(*(worker(kicks // concurrency) for _ in range(concurrency)))
    await wait_for_sends()
    elapsed = time.perf_counter() - begin
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(stream))
    to_stream = [
        int(entry_id.decode().split("-")[0]) / 1000
        - started[json.loads(fields[b"data"])["task_id"]]
        for entry_id, fields in entries
    ]
    assert len(to_stream) == len(started), f"{name}: {len(to_stream)} of {len(started)} sent"
    await redis.delete(stream)
    return {
        "mode": name,
        "kicks": len(started),
        "kicks_per_s": len(started) / elapsed,
        "response_p50_ms": 1000 * percentile(responses, 0.5),
        "response_p99_ms": 1000 * percentile(responses, 0.99),
        "to_stream_p50_ms": 1000 * percentile(to_stream, 0.5),
        "to_stream_p99_ms": 1000 * percentile(to_stream, 0.99),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kicks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(redis_prefix=f"outboxbench{uuid.uuid4().hex[:8]}")
    engine = create_async_engine(settings.database_url, pool_size=args.concurrency + 5)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    broker: AsyncBroker = build_stack_broker(settings)
    await broker.startup()
    redis = Redis.from_url(settings.redis_url)
    kicker: AsyncKicker[..., Any] = AsyncKicker(TASK, broker, {})
    insert = text(f"INSERT INTO {TABLE} (id) VALUES (:id)")

    async def direct(session: AsyncSession, row: uuid.UUID) -> str:
        await session.execute(insert, {"id": row})
        await session.commit()
        return (await kicker.kiq(str(row))).task_id

    async def outbox(session: AsyncSession, row: uuid.UUID) -> str:
        await session.execute(insert, {"id": row})
        task = await kick_after_commit(session, kicker, str(row))
        await session.commit()
        return task.task_id

    stream = settings.key("queue", settings.queues[0])
    results: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {TABLE} (id uuid PRIMARY KEY)"))
    try:
        for _ in range(args.rounds):
            for name, operation in (("direct", direct), ("outbox", outbox)):
                results.append(
                    await run_mode(
                        name,
                        operation,
                        sessions,
                        redis,
                        stream,
                        kicks=args.kicks,
                        concurrency=args.concurrency,
                    )
                )
                print(json.dumps(results[-1]))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE {TABLE}"))
            await conn.execute(outbox_table.delete().where(outbox_table.c.task_name == TASK))
        await redis.aclose()
        await broker.shutdown()
        await engine.dispose()
    summary = {
        mode: {
            key: statistics.median(r[key] for r in results if r["mode"] == mode)
            for key in results[0]
            if key not in ("mode", "kicks")
        }
        for mode in ("direct", "outbox")
    }
    ratio = summary["outbox"]["kicks_per_s"] / summary["direct"]["kicks_per_s"]
    print(json.dumps({"median_of_rounds": summary, "outbox_over_direct_kicks_per_s": ratio}))


if __name__ == "__main__":
    asyncio.run(main())
