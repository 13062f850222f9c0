"""Driving a running web process over HTTP."""

import time

import httpx

from tests.support.processes import StackProcess, wait_until

FINISHED = {"succeeded", "failed"}


def wait_healthy(
    client: httpx.Client, web: StackProcess, *, within: float = 60
) -> dict[str, object]:
    def healthy() -> bool:
        if web.popen.poll() is not None:
            raise AssertionError(f"web exited:\n{web.log()}")
        try:
            return client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, within=within, what="GET /health 200")
    body: dict[str, object] = client.get("/health").json()
    return body


def wait_import_finished(
    client: httpx.Client, import_id: str, *, within: float
) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        body: dict[str, object] = client.get(f"/imports/{import_id}").json()
        if body["status"] in FINISHED:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} not finished after {within}s: {body}")
        time.sleep(0.2)


def orders_csv(count: int, *, prefix: str = "o", start: int = 0) -> bytes:
    lines = ["order_id,customer,amount,currency,created_at"]
    lines += [
        f"{prefix}{i},customer {i % 97},{i % 1000}.50,{('EUR', 'USD')[i % 2]},"
        f"2026-11-{1 + i % 28:02d}T12:00:00"
        for i in range(start, start + count)
    ]
    return ("\n".join(lines) + "\n").encode()
