"""What the control routes may send: only schedulable tasks with arguments that fit, in a bounded
body; replays only of registered tasks. Refused requests store nothing (real web, Redis, PG)."""

import asyncio
import json
import select
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from taskiq_durable.dead_letters import DeadLetterReason
from taskiq_durable.dead_letters.sql import DeadLetterRow

from core.settings import Settings
from tests.conftest import OPERATOR_TOKEN, StartProcess, run_module
from tests.delivery.retry_support import database
from tests.security.support import redis_dump, row_counts, web_client
from tests.support.processes import StackProcess

LIMIT = 16 * 1024  # CONTROL_BODY_MAX_BYTES' default
HUGE = 30 * 1024 * 1024
EVERY = {"interval_seconds": 5}
ALLOWED = "schedulable tasks: examples.request_info, imports.cleanup, reports.daily"

REFUSED_SCHEDULES: list[tuple[dict[str, Any], str]] = [
    # The first example: the worker fetched a loopback URL every 5 s.
    (
        {"task_name": "images.download", "args": ["http://127.0.0.1:6379/"]},
        "task 'images.download' is not schedulable from the API",
    ),
    # The second: taskiq-pipelines' helper spun a CPU with check_interval 0.
    (
        {"task_name": "taskiq_pipelines.shared.filter_tasks", "kwargs": {"check_interval": 0}},
        "task 'taskiq_pipelines.shared.filter_tasks' is internal",
    ),
    ({"task_name": "nope.never"}, f"unknown task 'nope.never'; {ALLOWED}"),
    ({"task_name": "reports.daily", "args": [1]}, "too many positional arguments"),
    (
        {"task_name": "examples.request_info", "kwargs": {"fail_attempts": "many"}},
        "argument 'fail_attempts'",
    ),
    # Injected parameters are the worker's to fill, never the caller's.
    (
        {"task_name": "examples.request_info", "kwargs": {"context": {}}},
        "unexpected keyword argument 'context'",
    ),
]


@pytest.fixture
def web(
    start: StartProcess, operator_headers: dict[str, str]
) -> Iterator[tuple[httpx.Client, StackProcess]]:
    with web_client(start) as (client, process):
        client.headers.update(operator_headers)
        yield client, process


def test_a_schedule_naming_a_task_that_may_not_run_is_refused_and_nothing_stored(
    settings: Settings, web: tuple[httpx.Client, StackProcess]
) -> None:
    client, _ = web
    before = redis_dump(settings)
    for body, message in REFUSED_SCHEDULES:
        answer = client.post("/admin/schedules", json=body | EVERY)
        assert answer.status_code == 422, (body, answer.text)
        assert message in answer.text, (body, answer.text)  # a reason, or a validation error
    assert client.get("/admin/schedules").json() == []
    assert redis_dump(settings) == before
    # And a task that opted in, with arguments of the right type (as JSON gives them), is taken.
    taken = {"task_name": "examples.request_info", "kwargs": {"fail_attempts": 0}} | EVERY
    assert client.post("/admin/schedules", json=taken).status_code == 201


def _raw_request(port: int, head: str, body: Iterator[bytes]) -> tuple[str, int]:
    """Send `head`, then body chunks until the server answers; (status line, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the body was all sent
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = sock.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], sent


def _chunks(total: int, size: int = 64 * 1024, *, framed: bool = False) -> Iterator[bytes]:
    data = b"x" * size  # never parsed: refused on size first
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, data) if framed else data


def test_an_oversize_body_is_refused_before_it_is_read_and_nothing_stored(
    settings: Settings, web: tuple[httpx.Client, StackProcess]
) -> None:
    client, _ = web
    port = client.base_url.port
    assert port is not None
    before = redis_dump(settings)
    head = (
        f"POST /admin/schedules HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {OPERATOR_TOKEN}\r\nContent-Type: application/json\r\n"
    )
    # A declared 30 MB body: refused on its Content-Length, having read none of it.
    status, sent = _raw_request(port, head + f"Content-Length: {HUGE}\r\n\r\n", _chunks(HUGE))
    print(f"\nContent-Length {HUGE}: {status!r} after {sent} bytes of body")
    assert status.startswith("HTTP/1.1 413 "), status
    assert sent < HUGE // 4
    # No length declared (chunked): counted as it streams, refused once past the limit.
    framed = _chunks(HUGE, framed=True)
    status, sent = _raw_request(port, head + "Transfer-Encoding: chunked\r\n\r\n", framed)
    print(f"chunked: {status!r} after {sent} bytes of body")
    assert status.startswith("HTTP/1.1 413 "), status
    assert sent < HUGE // 4
    # One byte over the limit, well-formed JSON: refused all the same.
    body = {"task_name": "examples.request_info", "interval_seconds": 5, "args": [""]}
    padding = LIMIT + 1 - len(json.dumps(body).encode())
    over = json.dumps(body | {"args": ["p" * padding]}).encode()
    assert len(over) == LIMIT + 1
    json_type = {"Content-Type": "application/json"}
    answer = client.post("/admin/schedules", content=over, headers=json_type)
    assert answer.status_code == 413, answer.text
    # At the limit it is read, and refused for what it says (a string for an int).
    answer = client.post("/admin/schedules", content=over[:-4] + b'"]}', headers=json_type)
    assert answer.status_code == 422, answer.text
    assert client.get("/admin/schedules").json() == []
    assert redis_dump(settings) == before


def test_a_dead_letter_whose_task_is_gone_or_whose_arguments_no_longer_fit_is_not_replayed(
    settings: Settings, web: tuple[httpx.Client, StackProcess]
) -> None:
    client, _ = web

    async def insert(task_name: str, args: list[object]) -> int:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            letter = DeadLetterRow(
                task_name=task_name,
                task_id=f"dead-{task_name}",
                args=args,
                kwargs={},
                labels={},
                reason=DeadLetterReason.UNKNOWN_TASK,
                error="no such task",
            )
            session.add(letter)
            await session.commit()
            return letter.id

    gone = asyncio.run(insert("billing.removed_last_release", []))
    misfit = asyncio.run(insert("reports.daily", ["2026-01-01"]))
    before, rows = redis_dump(settings), row_counts(settings)
    answer = client.post(f"/admin/dead-letters/{gone}/replay")
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == (
        f"dead letter {gone}: task 'billing.removed_last_release' is not registered here"
        " (tasks.registry): deploy the code that defines it before replaying its dead letters"
    )
    answer = client.post(f"/admin/dead-letters/{misfit}/replay")
    assert answer.status_code == 409, answer.text
    assert "arguments do not fit task 'reports.daily': too many positional" in answer.text
    assert client.post("/admin/dead-letters/999/replay").status_code == 404
    # The operator's CLI refuses them the same way.
    for letter in (gone, misfit):
        returncode, _ = asyncio.run(
            run_module(settings, "tasks.dead_letters", "replay", str(letter))
        )
        assert returncode == 1
    assert redis_dump(settings) == before
    assert row_counts(settings) == rows
