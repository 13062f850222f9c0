"""Every task ends in a final state that waiters, `GET /tasks/{id}` and the canvas see at once,
on a real worker: a message dead-lettered before it ran (bad arguments, unknown task) reads
DEAD_LETTERED with its reason, `wait_result` and `gather` return it, its `link_error` fires; a
failure that was dead-lettered reads FAILURE with its reason, and its replay reads PENDING
again (not the old failure) until its new outcome is stored."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker, AsyncTaskiqTask, gather
from taskiq.kicker import AsyncKicker
from taskiq_durable.canvas import sig
from taskiq_durable.canvas.link import LINK_ERROR
from taskiq_durable.dead_letters.letters import TaskDeadLettered
from taskiq_durable.dead_letters.sql import replay

from core.settings import Settings
from tests.conftest import StartProcess
from tests.delivery.retry_support import database
from tests.patterns import tasks_for_tests as t
from tests.patterns.conftest import recorded, start_worker, task_status, until, wait_for_web
from tests.support.processes import free_port

WITHIN = 90.0  # worker and web startup on a loaded 2-core machine
# A bound on waiting for GET /tasks/{id} to answer the dead-lettering; how soon it answered is
# printed, not asserted (issue 14's "within 1 s" is a measured figure).
ANSWER_BOUND = 10.0


def kicker(broker: AsyncBroker, task_name: str, **labels: str) -> AsyncKicker[Any, Any]:
    """A kick by name, as a producer with a stale or mistaken task list sends it."""
    return AsyncKicker(task_name, broker, dict(labels))


@pytest.mark.e2e
async def test_dead_lettered_tasks_end_in_a_visible_state(
    start: StartProcess,
    settings: Settings,
    client_broker: AsyncBroker,
    redis_client: Redis,
    operator_headers: dict[str, str],
) -> None:
    port = free_port()
    web = start("web", PORT=str(port), DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    start_worker(start, concurrency=4)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers=operator_headers
    ) as http:

        async def status(task_id: str) -> dict[str, Any]:
            return await task_status(http, task_id)

        await wait_for_web(http, web, within=WITHIN)
        warm = await kicker(client_broker, t.add.task_name).kiq(1, 2)
        assert (await warm.wait_result(timeout=WITHIN)).return_value == 3

        # Arguments that don't fit: dead-lettered at admission, never run.
        kicked = time.monotonic()
        bad = await kicker(client_broker, t.add.task_name).kiq("one", "two")
        answered = await until(
            lambda: _in_state(status, bad.task_id, "DEAD_LETTERED"),
            within=ANSWER_BOUND,
            every=0.02,
            what="DEAD_LETTERED of the bad-arguments task",
        )
        # Measured from the kick, so from the dead-lettering too; the figure goes in the notes
        # (a timed assertion on this shared machine would test its load, not the code).
        print(f"DEAD_LETTERED answered {time.monotonic() - kicked:.3f}s after the kick")
        assert answered["ready"] is True
        assert answered["error"]["type"] == "TaskDeadLettered"
        assert answered["error"]["dead_letter"] == "bad_arguments"
        assert "argument 'x'" in answered["error"]["message"]
        # The waiter gets the final result at once, with the reason in its error.
        result = await bad.wait_result(timeout=5)
        assert result.is_err
        assert isinstance(result.error, TaskDeadLettered)
        assert result.error.args[0] == "bad_arguments"

        # An unknown task with a link_error: gather returns, and the canvas fires the errback.
        errback = sig(t.record, name="dead-errors")
        unknown = await kicker(
            client_broker, "test.no_such_task", **{LINK_ERROR: errback.to_json()}
        ).kiq(1)
        (gathered,) = await asyncio.wait_for(gather(unknown), timeout=5)
        assert gathered.is_err
        assert isinstance(gathered.error, TaskDeadLettered)
        assert (await status(unknown.task_id))["error"]["dead_letter"] == "unknown_task"
        failures = await until(
            lambda: recorded(redis_client, settings, "dead-errors"),
            within=10,
            what="the unknown task's link_error",
        )
        assert [(f["task_id"], f["error_type"]) for f in failures] == [
            (unknown.task_id, "TaskDeadLettered")
        ]

        # A failure that was dead-lettered: FAILURE with its own error and the reason.
        name = "replayed"
        failed = await t.once_allowed.kicker().with_broker(client_broker).kiq(name)
        assert (await failed.wait_result(timeout=WITHIN)).is_err
        body = await status(failed.task_id)
        assert (body["state"], body["error"]) == (
            "FAILURE",
            {
                "type": "ValueError",
                "message": f"{name} is not allowed yet",
                "dead_letter": "failed",
            },
        )

        # Replayed under its own id: PENDING/STARTED (not the old FAILURE), then SUCCESS.
        await redis_client.set(settings.key("test", name, "allowed"), 1)
        # Through the library's replay: the web refuses to replay a task it doesn't register,
        # and the test tasks are registered in the worker only.
        letter_id = await _letter_of(http, failed.task_id)
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            replayed = await replay(session, client_broker, letter_id)
        assert replayed.replay_task_id == failed.task_id
        await until(
            lambda: _in_state(status, failed.task_id, "STARTED"), within=WITHIN, what="STARTED"
        )
        await redis_client.rpush(settings.key("test", name, "gate"), 1)
        again: AsyncTaskiqTask[Any] = AsyncTaskiqTask(failed.task_id, client_broker.result_backend)
        assert (await again.wait_result(timeout=WITHIN)).return_value == f"{name} ran"
        assert (await status(failed.task_id))["state"] == "SUCCESS"


async def _in_state(status: Any, task_id: str, state: str) -> dict[str, Any] | None:
    body: dict[str, Any] = await status(task_id)
    return body if body["state"] == state else None


async def _letter_of(http: httpx.AsyncClient, task_id: str) -> int:
    listing = (await http.get("/admin/dead-letters", params={"reason": "failed"})).json()
    ids = [item["id"] for item in listing if item["task_id"] == task_id]
    assert len(ids) == 1, listing
    return int(ids[0])
