"""Importing the three processes' modules builds no engine, loop or connection (rule 2)."""

import subprocess
import sys
import textwrap

from tests.support.processes import ROOT

PROBE = textwrap.dedent(
    """
    import asyncio, gc, json, sys

    connects = []
    def audit(event, args):
        if event == "socket.connect":
            connects.append(repr(args))

    sys.addaudithook(audit)

    import app.main, tasks.registry, scheduler.__main__  # noqa: E401,F401

    from redis.asyncio.connection import AbstractConnection
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    objects = gc.get_objects()
    print(json.dumps({
        "connects": connects,
        "engines": sum(isinstance(o, (Engine, AsyncEngine)) for o in objects),
        "redis_connections": sum(
            isinstance(o, AbstractConnection) and o.is_connected for o in objects
        ),
        "loops": sum(isinstance(o, asyncio.AbstractEventLoop) for o in objects),
    }))
    """
)


def test_importing_app_tasks_and_scheduler_opens_nothing() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip().splitlines()[-1] == (
        '{"connects": [], "engines": 0, "redis_connections": 0, "loops": 0}'
    )
