"""docs/adopting.md performed: a shop built from the guide's code, outside this repository.

The guide's files are written into a temporary directory, the library is installed from the
checkout into the shop's own virtualenv, the shop's own database is created and migrated by its
own Alembic history (its tables and the library's `dead_letters`), and its Procfile entries run
as real processes: uvicorn and two `taskiq worker`s (queues `emails` and `payments`) on real
Redis (a prefix of its own) and PostgreSQL. Nothing of this repository is on the shop's path.
"""

import asyncio
import collections
import itertools
import os
import re
import signal
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis
from sqlalchemy.engine import make_url
from taskiq_durable.streams.config import recovery_bound

from tests.conftest import _admin, _admin_dsn
from tests.library.external_shop import Shop, write_project
from tests.library.external_venv import (
    STACK_PACKAGES,
    create_venv,
    library_requirement,
    lock_constraints,
)
from tests.support.processes import free_port, start_process, wait_until

# Aliased: pytest would try to collect a `Test*` name as a test class.
from tests.support.servers import TestServers as Servers

pytestmark = pytest.mark.slow  # a virtualenv, a release step and three processes: seconds

CONCURRENCY = 4
REDELIVERY_TIMEOUT = 2.0
RECLAIM_INTERVAL = 0.5
RETRY_BASE = 1.0  # shop.charge_order's retry_base in the guide
RECONCILE_SECONDS = 1.0


# Imports the shop's modules as its processes do, and reports anything not installed or not
# the shop's own that they loaded.
IMPORTS = textwrap.dedent(
    f"""
    import json, sys
    sys.path.insert(0, ".")
    import shop.web, shop.tasks, taskiq_durable
    stack = sorted(m for m in sys.modules if m.partition(".")[0] in {sorted(STACK_PACKAGES)!r})
    print(json.dumps({{"library": taskiq_durable.__file__, "stack": stack}}))
    """
)


@pytest.fixture(scope="module")
def shop(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("shop")
    procfile = write_project(root)
    venv = create_venv(root / ".venv", lock_constraints(tmp_path_factory.mktemp("constraints")))
    venv.install("-r", str(root / "requirements.txt"), library_requirement("sql"))

    token = uuid.uuid4().hex[:10]
    database = f"shop_{token}"
    asyncio.run(_admin(servers.database_url, f'CREATE DATABASE "{database}"'))
    url = make_url(servers.database_url).set(database=database)
    port = free_port()
    env = {
        "PATH": f"{venv.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
        "SHOP_DATABASE_URL": url.render_as_string(hide_password=False),
        "SHOP_REDIS_URL": servers.redis_url,
        "SHOP_REDIS_PREFIX": f"shop{token}",
        "SHOP_WORKER_CONCURRENCY": str(CONCURRENCY),
        "SHOP_REDELIVERY_TIMEOUT_SECONDS": str(REDELIVERY_TIMEOUT),
        "SHOP_RECLAIM_INTERVAL_SECONDS": str(RECLAIM_INTERVAL),
        "SHOP_RECONCILE_SECONDS": str(RECONCILE_SECONDS),
        "SHOP_ADMIN_TOKEN": uuid.uuid4().hex,
    }
    redis = SyncRedis.from_url(servers.redis_url, decode_responses=True)
    shop = Shop(
        root=root,
        web_url=f"http://127.0.0.1:{port}",
        admin_token=env["SHOP_ADMIN_TOKEN"],
        dsn=_admin_dsn(servers.database_url, database),
        redis=redis,
        prefix=env["SHOP_REDIS_PREFIX"],
        env=env,
    )
    try:
        imported = venv.run_json(IMPORTS, cwd=root, env=env)
        assert isinstance(imported, dict)
        assert Path(imported["library"]).is_relative_to(venv.path), imported
        assert imported["stack"] == [], imported

        # The release step, then Alembic's own check: the migrations create exactly the shop's
        # models and the library's DeadLetterRow.
        for command in (procfile["release"], "alembic check"):
            done = shop.run(command)
            assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"

        log_dir = tmp_path_factory.mktemp("logs")
        for name in ("web", "worker_emails", "worker_payments", "scheduler"):
            shop.processes[name] = start_process(name, procfile[name], env, log_dir, cwd=root)
        wait_until(lambda: _web_answers(shop), within=60, what="the shop's web process")
        # Both workers up: an order is charged (payments) and its receipt mailed (emails).
        order_id, _ = order(shop, "tok_visa")
        wait_until(lambda: _receipt(shop, order_id), within=90, what="the workers' first order")
        yield shop
    finally:
        for process in reversed(shop.processes.values()):
            process.stop()
        keys = list(redis.scan_iter(match=f"{shop.prefix}:*", count=1000))
        if keys:
            redis.delete(*keys)
        redis.close()
        asyncio.run(
            _admin(servers.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )


def _web_answers(shop: Shop) -> bool:
    shop.alive()
    try:
        with shop.client() as client:
            return client.get("/openapi.json").status_code == 200
    except httpx.TransportError:
        return False


def _receipt(shop: Shop, order_id: int) -> bool:
    shop.alive()
    return bool(shop.query("SELECT 1 FROM receipts WHERE order_id = $1", order_id))


def order(shop: Shop, card_token: str) -> tuple[int, str]:
    """Place an order through the shop's API: (order id, id of its charge task)."""
    with shop.client() as client:
        placed = client.post(
            "/orders",
            json={"email": "ada@example.com", "total_cents": 4200, "card_token": card_token},
        )
    assert placed.status_code == 201, placed.text
    body = placed.json()
    return int(body["id"]), str(body["task_id"])


def state_of(shop: Shop, task_id: str) -> str:
    return str(shop.status(task_id)["state"])


def test_sigkilled_worker_child_its_messages_complete_once_elsewhere(shop: Shop) -> None:
    orders = [order(shop, "tok_visa")[0] for _ in range(6 * CONCURRENCY)]
    emails = shop.stream("emails")
    worker = shop.processes["worker_emails"]

    def holder() -> tuple[int, set[str]] | None:
        shop.alive()
        return next(
            (
                (child.pid, held)
                for child in worker.children()
                if (held := emails.pending_of(child.pid))
            ),
            None,
        )

    wait_until(holder, within=60, what="a worker child holding receipts", every=0.02)
    held = holder()
    assert held is not None
    victim = held[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    orphans = emails.pending_of(victim)  # what it held when it died
    assert orphans
    bound = recovery_bound(REDELIVERY_TIMEOUT, RECLAIM_INTERVAL)
    wait_until(
        lambda: not emails.pending_of(victim), within=2 * bound + 5, what="orphans reclaimed"
    )
    print(f"\n{len(orphans)} orphans reclaimed {time.monotonic() - killed_at:.2f}s after SIGKILL")

    def receipts() -> int:
        rows = shop.query("SELECT count(*) AS n FROM receipts WHERE order_id = ANY($1)", orders)
        return int(rows[0]["n"])

    wait_until(lambda: receipts() == len(orders), within=90, what="every receipt")
    wait_until(emails.idle, within=30, what="no message pending or undelivered on emails")
    # Every receipt message ran to success; the only reruns are what the dead child held.
    runs = collections.Counter(
        re.findall(r"Executing task shop\.send_receipt with ID: (\S+)", worker.log())
    )
    assert len(runs) >= len(orders)
    assert {state_of(shop, task_id) for task_id in runs} == {"SUCCESS"}
    reruns = sum(count - 1 for count in runs.values())
    assert reruns <= len(orphans), (runs, orphans)
    assert len(worker.children()) >= 2  # taskiq restarted the killed child


def test_retried_with_backoff_then_dead_letter_replayed_to_success(shop: Shop) -> None:
    order_id, task_id = order(shop, "tok_outage_1")

    def letters() -> list[dict[str, object]]:
        with shop.client(admin=True) as client:
            listed = client.get("/admin/dead-letters")
        assert listed.status_code == 200, listed.text
        return [letter for letter in listed.json() if letter["task_id"] == task_id]

    wait_until(letters, within=60, what="the charge's dead letter")
    (letter,) = letters()
    assert (letter["task_name"], letter["reason"], letter["attempts"]) == (
        "shop.charge_order",
        "exhausted",
        3,
    )
    assert "GatewayUnavailable" in str(letter["error"])
    assert state_of(shop, task_id) == "FAILURE"

    attempts = shop.query(
        "SELECT attempt, extract(epoch FROM at) AS t FROM charge_attempts"
        " WHERE order_id = $1 ORDER BY id",
        order_id,
    )
    assert [row["attempt"] for row in attempts] == [1, 2, 3]
    first, second = (float(b["t"] - a["t"]) for a, b in itertools.pairwise(attempts))
    print(f"\nretry gaps {first:.2f}s, {second:.2f}s (base {RETRY_BASE}s: expected 1x, 2x)")
    # Exponential, loosely: never sooner than scheduled (1x, then 2x base), and the second wait
    # clearly the longer one, whatever delivery adds to both on a loaded machine.
    assert first >= 0.8 * RETRY_BASE
    assert second >= 1.6 * RETRY_BASE
    assert 1.3 <= second / first <= 3.5, (first, second)

    # The admin surface needs its token.
    with shop.client() as anonymous:
        assert anonymous.get("/admin/dead-letters").status_code == 401

    with shop.client(admin=True) as client:
        fixed = client.put(f"/orders/{order_id}/card", json={"card_token": "tok_visa"})
        assert fixed.status_code == 204, fixed.text
        replayed = client.post(f"/admin/dead-letters/{letter['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        replay_id = str(replayed.json()["task_id"])
        assert replay_id == task_id  # a replay runs under the letter's own task id
        wait_until(lambda: state_of(shop, replay_id) == "SUCCESS", within=30, what="the replay")
        again = client.post(f"/admin/dead-letters/{letter['id']}/replay")
        assert again.status_code == 409, again.text

    assert str(shop.status(replay_id)["result"]).startswith("ch_")
    # A fresh retry budget: the replay was attempt 1 again.
    attempts = shop.query(
        "SELECT attempt FROM charge_attempts WHERE order_id = $1 ORDER BY id", order_id
    )
    assert [row["attempt"] for row in attempts] == [1, 2, 3, 1]
    wait_until(lambda: _receipt(shop, order_id), within=30, what="the replayed charge's receipt")


def test_running_charge_revoked(shop: Shop) -> None:
    order_id, task_id = order(shop, "tok_hang")
    wait_until(
        lambda: shop.query("SELECT 1 FROM charge_attempts WHERE order_id = $1", order_id),
        within=30,
        what="the charge calling the gateway",
    )
    assert state_of(shop, task_id) == "PENDING"
    assert task_id in shop.pending_tasks("payments")  # held by its worker, heartbeating

    with shop.client(admin=True) as client:
        revoked = client.post(f"/admin/tasks/{task_id}/revoke")
        assert revoked.status_code == 202, revoked.text
        # Cancelled while it ran: the message is acknowledged long before the gateway answers.
        wait_until(
            lambda: task_id not in shop.pending_tasks("payments"),
            within=10,
            what="the revoked run to end",
        )
        status = shop.status(task_id)
        assert (status["state"], status["error"]["type"]) == ("REVOKED", "TaskRevoked")

        # The worker goes on: the next charge runs, and a finished task can't be revoked.
        _, done_id = order(shop, "tok_visa")
        wait_until(lambda: state_of(shop, done_id) == "SUCCESS", within=30, what="next charge")
        refused = client.post(f"/admin/tasks/{done_id}/revoke")
        assert refused.status_code == 409, refused.text
    # The operators' command line says the same.
    cli = shop.run(f"python -m shop.revoke {done_id}")
    assert (cli.returncode, cli.stdout.strip()) == (1, f"{done_id} already succeeded: not revoked")
    with shop.client(admin=True) as client:
        listed = client.get("/admin/dead-letters").json()

    # A revoke is a decision, not a failure: no dead letter, no charge, no receipt.
    assert [letter for letter in listed if letter["task_id"] == task_id] == []
    rows = shop.query("SELECT charge_id FROM orders WHERE id = $1", order_id)
    assert rows[0]["charge_id"] is None
    assert shop.query("SELECT 1 FROM receipts WHERE order_id = $1", order_id) == []


def test_scheduler_sends_the_reconciler_which_charges_a_forgotten_order(shop: Shop) -> None:
    # An order as a web process that died between its commit and its kick leaves it.
    (row,) = shop.query(
        "INSERT INTO orders (email, total_cents, card_token, created_at)"
        " VALUES ('bob@example.com', 990, 'tok_visa', now() - interval '10 minutes')"
        " RETURNING id"
    )
    order_id = int(row["id"])
    wait_until(lambda: _receipt(shop, order_id), within=60, what="the forgotten order's receipt")
    (charged,) = shop.query("SELECT charge_id FROM orders WHERE id = $1", order_id)
    assert str(charged["charge_id"]).startswith("ch_")

    def reconciles() -> list[str]:
        log = shop.processes["worker_payments"].log()
        return re.findall(r"Executing task shop\.reconcile_charges with ID: (\S+)", log)

    # Sent every RECONCILE_SECONDS, each run to success.
    wait_until(lambda: len(reconciles()) >= 3, within=30, what="three reconciler runs")
    assert {state_of(shop, task_id) for task_id in reconciles()[:3]} == {"SUCCESS"}
