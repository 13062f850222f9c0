"""Results and calling on a real worker: every state `GET /tasks/{id}` reports, expires,
ignore_result, link and link_error, and `get(timeout)`."""

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker
from taskiq_durable.calling import apply_async
from taskiq_durable.canvas import sig

from core.settings import Settings
from tests.conftest import StartProcess
from tests.patterns import tasks_for_tests as t
from tests.patterns.conftest import recorded, start_worker, task_status, until, wait_for_web
from tests.support.processes import free_port

WITHIN = 60.0


@pytest.mark.e2e
async def test_task_states_through_the_status_endpoint(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker, redis_client: Redis
) -> None:
    port = free_port()
    web = start("web", PORT=str(port), DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    start_worker(start, concurrency=4)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

        async def status(task_id: str) -> dict[str, Any]:
            return await task_status(http, task_id)

        await wait_for_web(http, web, within=WITHIN)
        # Unknown (or queued, or expired from Redis): PENDING, as Celery says.
        assert await status("no-such-task") == {
            "task_id": "no-such-task",
            "state": "PENDING",
            "ready": False,
            "progress": None,
            "result": None,
            "error": None,
        }

        gated = await apply_async(t.gated, broker=client_broker)

        async def in_state(task_id: str, state: str) -> dict[str, Any] | None:
            body = await status(task_id)
            return body if body["state"] == state else None

        await until(lambda: in_state(gated.task_id, "STARTED"), within=WITHIN, what="STARTED")
        await redis_client.rpush(settings.key("test", "gate1"), 1)
        running = await until(
            lambda: in_state(gated.task_id, "PROGRESS"), within=WITHIN, what="PROGRESS"
        )
        assert running["progress"] == {"step": 1}
        await redis_client.rpush(settings.key("test", "gate2"), 1)
        # Celery's get(timeout=...): wait_result raises TaskiqResultTimeoutError past it.
        assert (await gated.wait_result(timeout=WITHIN)).return_value == "through"
        assert await status(gated.task_id) == {
            "task_id": gated.task_id,
            "state": "SUCCESS",
            "ready": True,
            "progress": {"step": 1},
            "result": "through",
            "error": None,
        }

        # A failure, with its link_error; a success with its link.
        errback = sig(t.record, name="errors")
        failed = await apply_async(t.fail, ("bad",), link_error=errback, broker=client_broker)
        linked = await apply_async(
            t.add, (2, 3), link=sig(t.record, name="links"), broker=client_broker
        )
        body = await until(
            lambda: in_state(failed.task_id, "FAILURE"), within=WITHIN, what="FAILURE"
        )
        assert (body["ready"], body["error"]) == (
            True,
            # Not retried, so dead-lettered too (and replayable): the reason says so.
            {"type": "ValueError", "message": "refusing 'bad'", "dead_letter": "failed"},
        )
        errors = await until(
            lambda: recorded(redis_client, settings, "errors"), within=WITHIN, what="errback"
        )
        assert errors == [
            {
                "task_id": failed.task_id,
                "task_name": "test.fail",
                "error_type": "ValueError",
                "error": "refusing 'bad'",
            }
        ]
        assert await until(
            lambda: recorded(redis_client, settings, "links"), within=WITHIN, what="link"
        ) == [5]
        assert (await status(linked.task_id))["result"] == 5

        # countdown goes through delayed delivery: it runs, later, from the same message.
        delayed = await apply_async(t.add, (4, 4), countdown=1, broker=client_broker)
        result = await delayed.wait_result(timeout=WITHIN)
        assert (result.return_value, "eta" in result.labels) == (8, True)

        # Expired before a worker took it: skipped, recorded as REVOKED with the reason.
        expired = await apply_async(
            t.record,
            (1,),
            {"name": "expired"},
            expires=-1,
            task_id="late-1",
            broker=client_broker,
        )
        body = await until(
            lambda: in_state(expired.task_id, "REVOKED"), within=WITHIN, what="REVOKED"
        )
        assert body["error"]["type"] == "TaskExpired"
        # ignore_result: it ran (it recorded), but nothing was stored: PENDING forever.
        quiet = await apply_async(t.quiet, (7,), broker=client_broker)
        assert await until(
            lambda: recorded(redis_client, settings, "quiet"), within=WITHIN, what="quiet"
        ) == [7]
        # A later task's success proves the worker moved on past the quiet one's result step.
        after = await apply_async(t.add, (1, 1), broker=client_broker)
        await after.wait_result(timeout=WITHIN)
        assert (await status(quiet.task_id))["state"] == "PENDING"
        assert await recorded(redis_client, settings, "expired") == []
