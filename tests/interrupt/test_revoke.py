"""Revoke on real Redis, a real web and real worker children: a running task stops at its next
await, a queued one never starts, from the API and the CLI; and what a status reader sees."""

import asyncio
import sys
import time

import httpx
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.durable_broker import durable_broker
from taskiq_durable.revoke import is_revoked, revoke

from core.settings import Settings
from tests.conftest import StartProcess, stack_env
from tests.interrupt.conftest import SMALL_POOLS, WORKER, Events
from tests.interrupt.tasks_for_tests import sleep
from tests.support.http import wait_healthy
from tests.support.processes import ROOT, free_port, wait_until

RESULT_WAIT = 60.0
# The target is 1 s from the revoke to the task's stop; 2x slack for a shared, busy machine.
STOP_BOUND = 2 * 1.0


async def revoke_id(broker: AsyncBroker, settings: Settings, task_id: str) -> bool:
    return await revoke(durable_broker(broker).results, settings.durable(), task_id)


async def revoked(broker: AsyncBroker, settings: Settings, task_id: str) -> bool:
    return await is_revoked(durable_broker(broker).results, settings.durable(), task_id)


async def test_a_running_task_revoked_through_the_api_stops_at_its_next_await(
    settings: Settings,
    start: StartProcess,
    client_broker: AsyncBroker,
    events: Events,
    redis_client: Redis,
    operator_headers: dict[str, str],
) -> None:
    port = free_port()
    web = start("web", PORT=str(port), **SMALL_POOLS)
    # Two children: the revoke reaches whichever one runs the task.
    worker = start("worker", WORKER, WORKER_PROCESSES="2", **SMALL_POOLS)
    kicker = sleep.kicker().with_broker(client_broker)
    task = await kicker.kiq("r", 10 * RESULT_WAIT)
    wait_until(lambda: "started:r" in events(), within=RESULT_WAIT, what="task started")

    base_url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base_url, timeout=10) as probe:
        wait_healthy(probe, web)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=operator_headers) as http:
        asked = time.time()
        response = await http.post(f"/tasks/{task.task_id}/revoke")
        assert (response.status_code, response.json()) == (
            202,
            {"task_id": task.task_id, "state": "REVOKED"},
        )
        wait_until(lambda: "stopped:r" in events(), within=STOP_BOUND, what="revoked task stop")
        print(f"revoked running task stopped {events()['stopped:r'] - asked:.3f}s after the revoke")

        result = await task.wait_result(timeout=RESULT_WAIT)
        assert type(result.error).__name__ == "TaskRevoked"
        assert await revoked(client_broker, settings, task.task_id)

        # The worker keeps serving; a task that succeeded can't be revoked any more.
        after = await kicker.kiq("after", 0)
        assert (await after.wait_result(timeout=RESULT_WAIT)).return_value == "after"
        late = await http.post(f"/tasks/{after.task_id}/revoke")
        assert (late.status_code, late.json()) == (
            409,
            {"detail": f"task {after.task_id} already succeeded"},
        )
        assert not await revoked(client_broker, settings, after.task_id)
        assert (await http.post("/tasks/not%20an%20id/revoke")).status_code == 422

        # Revoked while the children run (they learn it from the channel, not from a load at
        # startup), then queued: it never starts.
        assert (await http.post("/tasks/early-1/revoke")).status_code == 202
        early = (
            await sleep.kicker().with_broker(client_broker).with_task_id("early-1").kiq("early", 0)
        )
        marker = await kicker.kiq("marker", 0)
        assert (await marker.wait_result(timeout=RESULT_WAIT)).return_value == "marker"
        wait_until(
            lambda: "early-1 was revoked: not started" in worker.log(),
            within=RESULT_WAIT,
            what="the revoked message skipped",
        )
        assert "started:early" not in events()
        assert type((await early.wait_result(timeout=1)).error).__name__ == "TaskRevoked"


async def test_a_queued_task_revoked_from_the_cli_never_starts(
    settings: Settings,
    start: StartProcess,
    client_broker: AsyncBroker,
    events: Events,
    redis_client: Redis,
) -> None:
    kicker = sleep.kicker().with_broker(client_broker)
    queued = await kicker.kiq("q", 0)  # no worker runs yet: it waits in the queue

    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tasks.revoke",
        queued.task_id,
        cwd=ROOT,
        env=stack_env(settings),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert (cli.returncode, stdout.decode()) == (0, f"revoked {queued.task_id}\n")
    # A status reader sees it at once, and so does a caller waiting for the result.
    assert await revoked(client_broker, settings, queued.task_id)
    assert type((await queued.wait_result(timeout=1)).error).__name__ == "TaskRevoked"

    # One child running one task at a time: once "after" ran, "q" went through the worker.
    worker = start("worker", WORKER, WORKER_PROCESSES="1", WORKER_CONCURRENCY="1", **SMALL_POOLS)
    after = await kicker.kiq("after", 0)
    assert (await after.wait_result(timeout=RESULT_WAIT)).return_value == "after"
    assert set(events()) == {"started:after", "stopped:after"}
    assert f"tests.interrupt.sleep {queued.task_id} was revoked: not started" in worker.log()
    assert type((await queued.wait_result(timeout=1)).error).__name__ == "TaskRevoked"


async def test_revoke_records_state_for_status_readers(
    settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    result_key = settings.key("result")
    # Unknown (or queued) id: revoked; a stored error (a retry pending): still revocable.
    assert await revoke_id(client_broker, settings, "never-seen")
    assert await revoked(client_broker, settings, "never-seen")
    failed = b'{"is_err": true, "return_value": null, "execution_time": 0.1, "error": null}'
    await redis_client.set(f"{result_key}:failed-once", failed)
    assert await revoke_id(client_broker, settings, "failed-once")
    assert await revoked(client_broker, settings, "failed-once")
    assert await redis_client.get(f"{result_key}:failed-once") == failed  # not overwritten
    # A success stays a success.
    success = b'{"is_err": false, "return_value": 1, "execution_time": 0.1, "error": null}'
    await redis_client.set(f"{result_key}:done", success)
    assert not await revoke_id(client_broker, settings, "done")
    assert not await revoked(client_broker, settings, "done")
    assert not await revoked(client_broker, settings, "nobody-revoked-this")
    # The revoke outlives nothing it guards: it expires with the results.
    ttl = await redis_client.ttl(settings.key("revoked", "never-seen"))
    assert 0 < ttl <= settings.result_ttl_seconds
