"""A stand-in for the web process, for the SIGKILL test: it imports the stack once, then forks a
child per `fork` line on stdin and prints the child's pid (`reap` waits for that child's end).
Each child, on its own loop with its own engine (nothing async exists before the fork), commits
jobs with their outbox kicks from CONCURRENCY coroutines until the test SIGKILLs it, and now
and then kills itself right after a commit, before the fast path can send.

    python -m tests.outbox.web_stand_in       (with the test's DATABASE_URL, REDIS_URL, ...)
"""

import asyncio
import os
import random
import signal
import sys
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from taskiq_durable import kick_after_commit

from core.settings import get_settings
from tasks.broker import broker
from tests.outbox.tasks_for_outbox import effect

CONCURRENCY = 10
# One commit in this many kills its process at once, between the commit and the send.
SELF_KILL_ONE_IN = 40


async def kick_forever() -> None:
    engine = create_async_engine(get_settings().database_url, pool_size=CONCURRENCY)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    await broker.startup()

    async def one_writer() -> None:
        while True:
            job = uuid.uuid4()
            async with sessions() as session:
                await session.execute(
                    text("INSERT INTO outbox_jobs (id) VALUES (:id)"), {"id": job}
                )
                await kick_after_commit(session, effect, job)
                await session.commit()
            if random.randrange(SELF_KILL_ONE_IN) == 0:
                os.kill(os.getpid(), signal.SIGKILL)

    await asyncio.gather(*(one_writer() for _ in range(CONCURRENCY)))


def main() -> None:
    child = 0
    for line in sys.stdin:
        if line.strip() == "fork":
            child = os.fork()
            if child == 0:
                asyncio.run(kick_forever())
                os._exit(0)
            print(child, flush=True)
        elif line.strip() == "reap":
            os.waitpid(child, 0)
            print("reaped", flush=True)


if __name__ == "__main__":
    main()
