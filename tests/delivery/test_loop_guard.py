"""A worker child that could not deliver reliably refuses to start, loudly, and takes nothing:
without uvloop (it would hang on SIGTERM) or without our receiver (a message whose handling
failed outside its task would be held until the child exits)."""

import asyncio
import re
from pathlib import Path

import pytest
import uvloop
from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq_durable.streams.preconditions import loop_is_uvloop

from core.settings import Settings
from tests.delivery.conftest import StartWorker, StreamView, run_counts, worker_command
from tests.delivery.tasks_for_tests import touch
from tests.support.processes import wait_until


def test_loop_is_uvloop_tells_the_loops_apart() -> None:
    for loop, expected in [(asyncio.new_event_loop(), False), (uvloop.new_event_loop(), True)]:
        try:
            assert loop_is_uvloop(loop) is expected
        finally:
            loop.close()


@pytest.mark.parametrize("missing", ["uvloop", "receiver"])
async def test_unsafe_worker_fails_at_startup_and_takes_nothing(
    missing: str,
    settings: Settings,
    start_worker: StartWorker,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    stream: StreamView,
    tmp_path: Path,
) -> None:
    env = {"WORKER_PROCESSES": "1"}
    command = None
    if missing == "uvloop":
        # An importable `uvloop` that raises ImportError: taskiq falls back to asyncio's loop.
        shadow = tmp_path / "shadow" / "uvloop"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
        env["PYTHONPATH"] = str(shadow.parent)
        expected = "not uvloop: it would hang on SIGTERM. Install taskiq[uv]"
    else:
        receiver = "--receiver taskiq.receiver:Receiver"
        command = re.sub(r"--receiver \S+", receiver, worker_command())
        expected = "the stream broker needs its receiver"
    await touch.kicker().with_broker(client_broker).kiq("never")

    worker = start_worker(command, **env)
    wait_until(lambda: expected in worker.log(), within=90, what="the startup error")
    # The whole worker stops rather than respawning a child that would refuse again.
    wait_until(lambda: worker.popen.poll() is not None, within=60, what="the worker to exit")
    assert run_counts(sync_redis, settings) == {}
    assert (stream.pending(), stream.lag()) == (0, 1)  # the message waits for a sound worker
