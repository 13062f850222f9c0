"""The whole stack: the three Procfile commands as subprocesses, driven only over HTTP."""

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import StartProcess
from tests.support.http import orders_csv, wait_healthy, wait_import_finished
from tests.support.processes import StackProcess, free_port, wait_until

LOOP_ERRORS = ("attached to a different loop", "Event loop is closed", "Traceback")


@pytest.fixture
def stack(start: StartProcess) -> Iterator[tuple[httpx.Client, dict[str, StackProcess]]]:
    port = free_port()
    env = {
        "PORT": str(port),
        "UPLOAD_MAX_BYTES": "1000000",
        "DAILY_REPORT_CRON": "* * * * *",
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "2",
    }
    processes = {name: start(name, **env) for name in ("web", "worker", "scheduler")}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client, processes


@pytest.mark.e2e
def test_the_three_processes_import_report_and_stop(
    stack: tuple[httpx.Client, dict[str, StackProcess]],
) -> None:
    client, processes = stack
    health = wait_healthy(client, processes["web"])
    assert health["database"]["up"] is True  # type: ignore[index]
    assert health["redis"]["up"] is True  # type: ignore[index]

    queued = client.post("/imports", content=orders_csv(10_000) + b"bad,row,x,EUR,2026-01-01\n")
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    done = wait_import_finished(client, queued.json()["id"], within=120)
    assert (done["status"], done["rows_total"], done["rows_done"], done["rows_rejected"]) == (
        "succeeded",
        10_001,
        10_000,
        1,
    )
    assert done["rejections"] == [{"line": 10_002, "reason": "amount 'x' is not a number"}]

    # The same orders again: nothing duplicated, every row reported as already imported.
    again = client.post("/imports", content=orders_csv(3))
    repeat = wait_import_finished(client, again.json()["id"], within=60)
    assert (repeat["status"], repeat["rows_done"], repeat["rows_rejected"]) == ("succeeded", 0, 3)

    # Server-Sent Events of a finished import: its final status, then the stream ends.
    with client.stream("GET", f"/imports/{queued.json()['id']}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        data = [json.loads(line[6:]) for line in events.iter_lines() if line.startswith("data: ")]
    assert [event["status"] for event in data] == ["succeeded"]

    # The scheduler process sends the daily report (every minute here); the API shows it.
    def reported() -> bool:
        rows: list[dict[str, int]] = client.get("/reports/daily", params={"currency": "EUR"}).json()
        return sum(row["orders"] for row in rows) == 5_000

    wait_until(reported, within=90, what="the scheduled daily report", every=1)

    for process in processes.values():
        process.stop()
        assert process.alive_pids() == set(), f"{process.name} left processes running"
        log = process.log()
        assert not [e for e in LOOP_ERRORS if e in log], f"{process.name} log:\n{log}"


BAD_UPLOADS = [
    (b"", 400, "the upload is empty"),
    (
        b"order_id,customer,amount,currency,created_at\no1,M\xfcller,1,EUR,2026-01-01\n",
        400,
        "the upload is not UTF-8 (invalid byte at offset 49)",
    ),
    (
        b"order_id,customer\no1,a\n",
        400,
        "missing columns: amount, currency, created_at (header: order_id,customer)",
    ),
    (
        b"order_id,customer,amount,currency,created_at\n" + b"x" * 1_000_000,
        413,
        "upload over 1000000 bytes",
    ),
]


@pytest.mark.e2e
def test_bad_uploads_get_a_clear_4xx_and_store_nothing(
    stack: tuple[httpx.Client, dict[str, StackProcess]],
) -> None:
    client, processes = stack
    wait_healthy(client, processes["web"])
    answers = [client.post("/imports", content=body) for body, _, _ in BAD_UPLOADS]
    assert [(r.status_code, r.json()) for r in answers] == [
        (status, {"detail": detail}) for _, status, detail in BAD_UPLOADS
    ]
    assert client.get("/imports/00000000-0000-0000-0000-000000000000").status_code == 404
    # Not one of them reached the queue: a good upload is the first import the worker sees.
    good = client.post("/imports", content=orders_csv(2, prefix="g"))
    assert wait_import_finished(client, good.json()["id"], within=60)["rows_done"] == 2
    assert "Executing task imports.run" in processes["worker"].log()
    assert processes["worker"].log().count("Executing task imports.run") == 1
