"""W5 probe: how late the scheduler sends a 1 s interval schedule.

    .venv/bin/python -m bench.scheduler_lateness --seconds 60 [--schedulers 2]

Runs real `python -m scheduler` processes (the Procfile command) against DATABASE_URL / REDIS_URL
(the schema must be at head), under a fresh Redis prefix, and prints the lateness of every tick:
the time the message reached the queue stream (Redis clock) minus the tick it stands for.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from redis import Redis
from taskiq import ScheduledTask

from core.settings import Settings
from tests.scheduling.support import add_schedule, sent
from tests.support.processes import procfile_commands

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--schedulers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings(redis_prefix=f"lateness{uuid.uuid4().hex[:8]}")
    env = os.environ | {
        "REDIS_PREFIX": settings.redis_prefix,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    add_schedule(
        settings,
        ScheduledTask(
            task_name="imports.cleanup", labels={}, args=[], kwargs={}, interval=1, schedule_id="w5"
        ),
    )
    command = procfile_commands()["scheduler"]
    processes = [
        subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.schedulers)
    ]
    try:
        time.sleep(args.seconds)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(30)
    ticks = sent(settings, "w5")[2:]  # the first two may include process start-up
    late = sorted(t.lateness * 1000 for t in ticks)
    duplicates = len(ticks) - len({t.tick for t in ticks})
    p99 = late[int(len(late) * 0.99) - 1]
    print(
        f"ticks={len(ticks)} duplicates={duplicates} lateness ms: "
        f"p50={statistics.median(late):.1f} p99={p99:.1f} max={late[-1]:.1f}"
    )
    with Redis.from_url(settings.redis_url) as redis:
        keys = list(redis.scan_iter(match=f"{settings.redis_prefix}:*"))
        if keys:
            redis.delete(*keys)


if __name__ == "__main__":
    main()
