"""`/admin/schedules` against a real web process, scheduler and worker."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis import Redis

from core.settings import Settings
from tests.conftest import StartProcess
from tests.scheduling.support import sent, wait_started
from tests.support.http import wait_healthy
from tests.support.processes import StackProcess, free_port, wait_until

# Done-when bound: a schedule added through the API fires within 2 s of its due time. The
# scheduler notices additions within SCHEDULER_POLL_SECONDS (0.5 s), so this is 4x slack.
PICKUP_BOUND = timedelta(seconds=2)


@pytest.fixture
def web(
    start: StartProcess, operator_headers: dict[str, str]
) -> Iterator[tuple[httpx.Client, StackProcess]]:
    port = free_port()
    process = start("web", PORT=str(port), DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=30, headers=operator_headers
    ) as client:
        wait_healthy(client, process)
        yield client, process


def test_a_schedule_added_through_the_api_fires_on_time_and_stops_when_deleted(
    settings: Settings, start: StartProcess, web: tuple[httpx.Client, StackProcess]
) -> None:
    client, _ = web
    scheduler = start("scheduler")
    worker = start("worker", WORKER_PROCESSES="1", DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    wait_started(scheduler)

    due = datetime.now(UTC) + timedelta(seconds=2)
    once = client.post(
        "/admin/schedules",
        json={"schedule_id": "api-once", "task_name": "imports.cleanup", "at": due.isoformat()},
    )
    assert once.status_code == 201, once.text
    wait_until(lambda: sent(settings, "api-once"), within=30, what="the one-off")
    (fired,) = sent(settings, "api-once")
    assert fired.tick == due
    assert fired.at - due <= PICKUP_BOUND, f"sent {fired.lateness:.3f}s after its due time"

    # The worker ran it: its result is stored.
    with Redis.from_url(settings.redis_url) as redis:
        result_key = settings.key("result", fired.task_id)
        wait_until(lambda: redis.exists(result_key), within=60, what="the task's result")

    every = client.post(
        "/admin/schedules",
        json={"schedule_id": "api-every", "task_name": "imports.cleanup", "interval_seconds": 1},
    )
    assert every.status_code == 201, every.text
    created = datetime.now(UTC)
    wait_until(lambda: len(sent(settings, "api-every")) >= 2, within=30, what="two ticks")
    first = sent(settings, "api-every")[0]
    assert first.at - created <= timedelta(seconds=1) + PICKUP_BOUND
    listed = {s["schedule_id"]: s for s in client.get("/admin/schedules").json()}
    assert listed.keys() == {"api-every"}  # the one-off was removed once sent
    assert listed["api-every"]["interval_seconds"] == 1
    assert listed["api-every"]["last_handled"] is not None

    assert client.delete("/admin/schedules/api-every").status_code == 204
    deleted_at = datetime.now(UTC)
    wait_until(
        lambda: datetime.now(UTC) - deleted_at > PICKUP_BOUND, within=10, what="the pickup bound"
    )
    after = [s for s in sent(settings, "api-every") if s.at > deleted_at + PICKUP_BOUND]
    assert after == []
    assert client.get("/admin/schedules/api-every").status_code == 404
    assert "Traceback" not in scheduler.log() + worker.log()


BAD_SCHEDULES = [
    (
        {"task_name": "nope.never", "interval_seconds": 5},
        422,
        "unknown task 'nope.never'; schedulable tasks: ",
    ),
    (
        {"task_name": "imports.cleanup", "cron": "61 * * * *"},
        422,
        "cron '61 * * * *': minute field: 61 is outside 0-59",
    ),
    (
        {"task_name": "imports.cleanup", "cron": "0 8 * * *", "timezone": "Mars/Olympus"},
        422,
        "unknown timezone 'Mars/Olympus'",
    ),
    (
        {"task_name": "imports.cleanup", "cron": "0 8 * * *", "interval_seconds": 5},
        422,
        "give exactly one of cron, interval_seconds, at",
    ),
    ({"task_name": "imports.cleanup"}, 422, "give exactly one of cron, interval_seconds, at"),
    (
        {"task_name": "imports.cleanup", "at": "2030-01-01T08:00:00"},
        422,
        "Input should have timezone info",
    ),
    (
        {"task_name": "imports.cleanup", "interval_seconds": 5, "misfire": "sometimes"},
        422,
        "Input should be 'catch_up' or 'skip'",
    ),
    (
        {"schedule_id": "reports.daily", "task_name": "imports.cleanup", "interval_seconds": 5},
        409,
        "schedule 'reports.daily' exists",
    ),
]


def test_bad_schedules_get_a_clear_4xx_and_store_nothing(
    web: tuple[httpx.Client, StackProcess],
) -> None:
    client, _ = web
    for body, status, message in BAD_SCHEDULES:
        answer = client.post("/admin/schedules", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert message in answer.text, (body, answer.text)
    assert client.get("/admin/schedules").json() == []
    assert client.delete("/admin/schedules/missing").status_code == 404
