"""The image's HEALTHCHECK (and the Kubernetes exec probe of worker and scheduler).

One check for every role: it reads which process the container runs (PID 1, the role's own
process: deploy/container.py execs it) and asks what that role needs to do its job.

- web: `GET /health` answers 200, i.e. the database and Redis answer this server.
- worker: the `taskiq worker` main process has a live child (it respawns one that dies; none
  left means it is stopping or stuck) and Redis answers.
- anything else (the scheduler, a command): the process is alive and Redis answers.

    python -m deploy.healthcheck [--pid PID]    # exit 0 healthy, 1 with the reason on stderr
"""

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import PurePath

import psutil
from redis import Redis
from redis.exceptions import RedisError

from core.settings import get_settings

TIMEOUT = 3.0


def role_of(cmdline: Sequence[str]) -> str:
    """`web`, `worker` or `other` (the scheduler, a command), from a process's argv."""
    names = [PurePath(arg).name for arg in cmdline]
    if "uvicorn" in names:
        return "web"
    if "taskiq" in names and names[names.index("taskiq") + 1 :][:1] == ["worker"]:
        return "worker"
    return "other"


def web_problem(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT):
            return None
    except urllib.error.HTTPError as exc:
        return f"/health answered {exc.code}: {exc.read()[:300]!r}"
    except OSError as exc:
        return f"/health unreachable: {exc}"


def redis_problem(url: str) -> str | None:
    client = Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        client.ping()
        return None
    except (RedisError, OSError) as exc:
        return f"Redis does not answer: {exc}"
    finally:
        client.close()


def problem(pid: int, *, port: int, redis_url: str) -> str | None:
    """Why the process `pid` cannot do its job, or None when it can."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return f"process {pid} has exited"
        role = role_of(process.cmdline())
        live_children = [c for c in process.children() if c.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return f"no process {pid}"
    if role == "web":
        return web_problem(port)
    if role == "worker" and not live_children:
        return "the worker has no live child process"
    return redis_problem(redis_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.healthcheck", description=__doc__)
    parser.add_argument("--pid", type=int, default=1, help="the role's process (default: 1)")
    args = parser.parse_args(argv)
    # The role's own settings, read as its process reads them; PORT as the Procfile's web line.
    port = int(os.environ.get("PORT", "8000"))
    found = problem(args.pid, port=port, redis_url=get_settings().redis_url)
    if found:
        print(f"unhealthy: {found}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
