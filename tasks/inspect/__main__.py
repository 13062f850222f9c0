"""`python -m tasks.inspect {queues,pending,active,scheduled,registered,dead-letters,outbox,
workers,ready}` [--json]

Celery's `inspect active/reserved/scheduled/registered` asks live workers over the broker and
times out when they are stuck; this reads the state they leave in Redis and PostgreSQL, so it
answers the same whether workers are busy, hung or gone.
"""

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from taskiq_durable.config import DurableConfig
from taskiq_durable.connections import create_redis
from taskiq_durable.dead_letters.sql import recent
from taskiq_durable.inspect import stored, streams
from taskiq_durable.inspect.streams import Row
from taskiq_durable.outbox.stats import outbox_stats
from taskiq_durable.presence import live_workers

from core.readiness import readiness
from core.resources import create_engine, open_resources
from core.settings import Settings, get_settings

Sections = dict[str, list[Row]]

COMMANDS = {
    "queues": "per queue: stream length, waiting (undelivered), pending (delivered, unacked),"
    " live readers",
    "pending": "per worker child (consumer): messages held, seconds since last heard of",
    "active": "every delivered, unacknowledged message: task, consumer, idle, deliveries",
    "scheduled": "delayed messages (retries, countdowns, rate limits) and runtime schedules",
    "registered": "tasks the workers can run, with their queue and label schedules",
    "dead-letters": "the newest dead letters",
    "outbox": "kicks committed but not on a stream yet: how many, the oldest's age, refused",
    "workers": "live worker children: queue, host, pid, heartbeat age, running, done, failed, RSS",
    "ready": "database, Redis, schema at head, a live worker per queue; exit 1 when not ready"
    " (a container probe)",
}


async def _redis_state(command: str, settings: DurableConfig, limit: int) -> Sections:
    redis = create_redis(settings)
    try:
        if command == "queues":
            return {"queues": await streams.queues(redis, settings)}
        if command == "pending":
            return {"consumers": await streams.consumers(redis, settings)}
        if command == "workers":
            return {"workers": [_worker_row(w) for w in await live_workers(redis, settings)]}
        if command == "active":
            return {"active": await streams.active(redis, settings, limit=limit)}
        return {
            "delayed": await stored.delayed(redis, settings, limit=limit),
            "schedules": await stored.schedules(settings),
        }
    finally:
        await redis.aclose()


async def collect(command: str, settings: Settings, *, limit: int = 100) -> Sections:
    if command == "registered":
        # Only this command needs every task module imported (they register on the broker).
        importlib.import_module("tasks.registry")
        from tasks.broker import broker

        return {"registered": stored.registered(broker, settings.durable())}
    if command == "ready":
        async with open_resources(settings) as resources:
            report = await readiness(resources)
        return {"ready": [_flatten(report)]}
    if command in ("dead-letters", "outbox"):
        engine = create_engine(settings)
        try:
            if command == "outbox":
                async with engine.connect() as conn:
                    return {"outbox": [(await outbox_stats(conn)).as_row()]}
            sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
            return {"dead_letters": await recent(sessionmaker, limit=limit)}
        finally:
            await engine.dispose()
    return await _redis_state(command, settings.durable(), limit)


def _worker_row(worker: dict[str, Any]) -> Row:
    return {
        "queue": worker["queue"],
        "consumer": worker["consumer"],
        "host": worker["host"],
        "pid": worker["pid"],
        "heartbeat_age": worker["heartbeat_age"],
        "running": len(worker["running"]),
        "done": worker["done"],
        "failed": worker["failed"],
        "rss_mb": round(worker["rss_bytes"] / 2**20, 1),
    }


def _flatten(report: dict[str, Any], prefix: str = "") -> Row:
    """One row of `name.part: value` cells from a nested report."""
    row: Row = {}
    for name, value in report.items():
        if isinstance(value, dict):
            row |= _flatten(value, f"{prefix}{name}.")
        else:
            row[f"{prefix}{name}"] = value
    return row


def table(rows: list[Row]) -> str:
    if not rows:
        return "(none)"
    columns = list(rows[0])
    cells = [columns, *([str(row.get(c, "")) for c in columns] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def render(sections: Sections, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(sections, default=str)
    if len(sections) == 1:
        return table(next(iter(sections.values())))
    return "\n\n".join(f"{name}:\n{table(rows)}" for name, rows in sections.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.inspect", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--json", action="store_true", help="one JSON object instead of tables")
        sub.add_argument("--limit", type=int, default=100, help="rows per listing")
    args = parser.parse_args(argv)
    sections = asyncio.run(collect(args.command, get_settings(), limit=args.limit))
    print(render(sections, as_json=args.json))
    if args.command == "ready":
        return 0 if sections["ready"][0]["ready"] else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
