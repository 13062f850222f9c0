"""`python -m scheduler tasks.registry`: the scheduler process (the Procfile's `scheduler`).

Schedules come from task labels (cron jobs in code, in the task modules named on the command
line) and from Redis (runtime schedules managed through /admin/schedules, JSON). Any number of
these processes may run: each tick is sent once (docs/scheduling.md). It sends nothing before
the release step brought the schema to head, and stops gracefully on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import logging
from functools import partial

from taskiq_durable.scheduler.run import serve_scheduler

from core.db.schema import wait_for_schema
from tasks.broker import broker, settings

LOG_FORMAT = "[%(asctime)s][%(levelname)-7s][%(name)s] %(message)s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scheduler", description="Send this stack's scheduled tasks."
    )
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help="task modules whose label schedules to send"
    )
    parser.add_argument("--log-level", default="INFO", choices=logging.getLevelNamesMapping())
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    release = partial(wait_for_schema, settings.database_url, within=settings.schema_wait_seconds)
    asyncio.run(
        serve_scheduler(broker, settings.durable(), modules=args.modules, before_start=release)
    )


if __name__ == "__main__":
    main()
