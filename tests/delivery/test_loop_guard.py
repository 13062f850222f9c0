"""A worker child without uvloop refuses to start, loudly, rather than hang on SIGTERM later."""

import asyncio
from pathlib import Path

import uvloop
from redis import Redis as SyncRedis
from taskiq import AsyncBroker

from core.settings import Settings
from tasks.streams.preconditions import loop_is_uvloop
from tests.conftest import StartProcess
from tests.delivery.conftest import StreamView, run_counts, worker_command
from tests.delivery.tasks_for_tests import touch
from tests.support.processes import wait_until


def test_loop_is_uvloop_tells_the_loops_apart() -> None:
    for loop, expected in [(asyncio.new_event_loop(), False), (uvloop.new_event_loop(), True)]:
        try:
            assert loop_is_uvloop(loop) is expected
        finally:
            loop.close()


async def test_worker_without_uvloop_fails_at_startup_and_takes_nothing(
    settings: Settings,
    start: StartProcess,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
    tmp_path: Path,
) -> None:
    # An importable `uvloop` that raises ImportError: taskiq falls back to asyncio's loop.
    shadow = tmp_path / "shadow" / "uvloop"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    await touch.kicker().with_broker(client_broker).kiq("never")

    worker = start("worker", worker_command(), WORKER_PROCESSES="1", PYTHONPATH=str(shadow.parent))
    wait_until(lambda: "not uvloop" in worker.log(), within=90, what="the startup error")
    assert "Install taskiq[uv]" in worker.log()
    assert run_counts(sync_redis, settings) == {}
    assert (stream.pending(), stream.lag()) == (0, 1)  # the message waits for a sound worker
