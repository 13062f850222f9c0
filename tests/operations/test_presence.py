"""Worker presence and readiness with real worker subprocesses (issue 15, item 5).

Each worker child's heartbeat and running tasks are in Redis with an expiry, so `inspect workers`
and `/ready` are true while it runs and after it is SIGKILLed; `/ready` and `inspect ready` (the
container probe) need the database, Redis, the schema at head and a live worker per queue.
"""

import json
import os
import signal
import time

import httpx
import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.presence import live_workers

from core.settings import Settings
from tests.conftest import StartProcess, run_module
from tests.interrupt.tasks_for_tests import sleep
from tests.support.http import wait_healthy
from tests.support.processes import free_port, wait_until, worker_command

# A dead child's document expires after the redelivery timeout.
ENV = {"REDELIVERY_TIMEOUT_SECONDS": "6", "WORKER_PROCESSES": "1"}
TASKS = "tests.interrupt.tasks_for_tests"


def _ready(client: httpx.Client) -> httpx.Response:
    # Blocking, from the async test: the web is another process, and nothing here must overlap.
    return client.get("/ready")


async def _inspect(settings: Settings, command: str) -> tuple[int, object]:
    code, out = await run_module(settings, "tasks.inspect", command, "--json")
    return code, json.loads(out)


@pytest.mark.e2e
async def test_workers_and_readiness_are_true_while_running_and_after_a_crash(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    port = free_port()
    web = start("web", PORT=str(port), **ENV)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        wait_healthy(client, web)
        # No worker yet: not ready, and the reason names the queues.
        not_ready = _ready(client)
        assert not_ready.status_code == 503
        assert not_ready.json()["redis"]["live_workers"] == {"default": 0, "urgent": 0}
        assert not_ready.json()["database"]["ready"] is True
        code, report = await _inspect(settings, "ready")
        assert code == 1
        assert report["ready"][0]["redis.live_workers.default"] == 0  # type: ignore[index]

        default = start("worker", worker_command(TASKS), **ENV)
        # One queue read is not enough: urgent has no worker.
        wait_until(
            lambda: _ready(client).json()["redis"]["live_workers"]["default"] == 1,
            within=60,
            what="the default worker's heartbeat",
        )
        assert _ready(client).status_code == 503
        start("urgent", worker_command(TASKS), WORKER_QUEUE="urgent", **ENV)
        wait_until(lambda: _ready(client).status_code == 200, within=60, what="/ready 200")
        code, report = await _inspect(settings, "ready")
        assert (code, report["ready"][0]["ready"]) == (0, True), report  # type: ignore[index]

        running = await sleep.kicker().with_broker(client_broker).kiq("presence", 60)
        deadline = time.monotonic() + 30
        while True:
            code, listed = await _inspect(settings, "workers")
            workers = listed["workers"]  # type: ignore[index]
            if any(w["running"] for w in workers):
                break
            assert time.monotonic() < deadline, workers
        assert code == 0
        assert {w["queue"] for w in workers} == {"default", "urgent"}
        busy = next(w for w in workers if w["running"])
        assert busy["queue"] == "default"
        assert busy["pid"] in {child.pid for child in default.children()}
        assert busy["heartbeat_age"] < 3
        assert busy["rss_mb"] > 10
        # The document names the running task, with how long it has run.
        (document,) = [
            w for w in await live_workers(redis_client, settings.durable()) if w["running"]
        ]
        (task,) = document["running"]
        assert (task["task_id"], task["task_name"]) == (running.task_id, "tests.interrupt.sleep")
        assert 0 <= task["running_for"] < 30

        # SIGKILL the whole default worker (main and child): nothing says goodbye.
        for pid in {default.popen.pid, *(c.pid for c in default.children())}:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _ready(client).status_code == 503, within=20, what="/ready 503")
        assert _ready(client).json()["redis"]["live_workers"] == {"default": 0, "urgent": 1}
        code, listed = await _inspect(settings, "workers")
        assert [w["queue"] for w in listed["workers"]] == ["urgent"]  # type: ignore[index]
