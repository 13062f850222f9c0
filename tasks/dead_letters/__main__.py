"""`python -m tasks.dead_letters list [--limit N] [--reason R]` | `replay ID`.

The same service functions as `/admin/dead-letters`, for a shell on a worker or release box.
`list` prints one JSON object per line, newest first.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from pydantic_core import to_jsonable_python
from taskiq_durable.dead_letters import DeadLetterReason
from taskiq_durable.dead_letters.sql import DeadLetterRow, NotReplayable, list_letters

from core.resources import open_resources
from core.settings import get_settings
from tasks.broker import broker
from tasks.policy import checked_replay

FIELDS = (
    "id",
    "task_name",
    "task_id",
    "reason",
    "error",
    "attempts",
    "args",
    "kwargs",
    "created_at",
    "replayed_at",
    "replay_task_id",
)


def _line(letter: DeadLetterRow) -> str:
    return json.dumps(to_jsonable_python({f: getattr(letter, f) for f in FIELDS}))


async def _run(args: argparse.Namespace) -> int:
    async with open_resources(get_settings()) as resources:
        if args.command == "list":
            async with resources.sessionmaker() as session:
                for letter in await list_letters(session, limit=args.limit, reason=args.reason):
                    print(_line(letter))
            return 0
        await broker.startup()
        try:
            async with resources.sessionmaker.begin() as session:
                letter = await checked_replay(session, args.id)
        except (LookupError, NotReplayable) as exc:
            print(exc, file=sys.stderr)
            return 1
        finally:
            await broker.shutdown()
        print(json.dumps({"id": letter.id, "task_id": letter.replay_task_id}))
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.dead_letters")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="newest dead letters, one JSON object per line")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--reason", type=DeadLetterReason, choices=list(DeadLetterReason))
    replaying = commands.add_parser("replay", help="kick a dead letter's task again")
    replaying.add_argument("id", type=int)
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
