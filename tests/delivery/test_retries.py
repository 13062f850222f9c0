"""Retries wait `min(cap, base * 2**(n-1))` (jitter off) or up to that (jitter on); the last
failure is a dead letter; replaying it from the admin API runs the task again.

Measured gaps are printed (`pytest -s`) for docs/delivery.md.
"""

import itertools

import httpx
from redis import Redis as SyncRedis
from taskiq import AsyncBroker
from taskiq_durable.dead_letters import DeadLetterReason

from core.settings import Settings
from tests.conftest import StartProcess, run_module
from tests.delivery.retry_support import (
    WORKER_ENV,
    database,
    dead_letters,
    eventually,
    retry_worker_command,
    starts,
)
from tests.delivery.tasks_for_retries import fixed_key, flaky
from tests.support.processes import StackProcess, free_port, wait_until, web_command

# flaky's labels: 4 attempts, base 1 s, cap 8 s, no jitter -> gaps 1, 2, 4 s.
EXPECTED_GAPS = [1.0, 2.0, 4.0]
JITTER_CAP = 1.5
JITTER_ATTEMPTS = 5


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


async def test_backoff_schedule_dead_letter_and_replay(
    settings: Settings,
    start: StartProcess,
    client_broker: AsyncBroker,
    sync_redis: SyncRedis,
    operator_headers: dict[str, str],
) -> None:
    start("worker", retry_worker_command(), WORKER_PROCESSES="1", **WORKER_ENV)
    port = free_port()
    web_knowing_flaky = web_command("tests.delivery.tasks_for_retries")
    web = start("web", web_knowing_flaky, PORT=str(port), DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    kicker = flaky.kicker().with_broker(client_broker)
    await kicker.kiq("steady")
    await (
        flaky.kicker()
        .with_broker(client_broker)
        .with_labels(retry_jitter=True, retry_cap=JITTER_CAP, max_attempts=JITTER_ATTEMPTS)
        .kiq("jittered")
    )

    def attempts(name: str) -> list[float]:
        return [s["t"] for s in starts(sync_redis, settings, name)]

    wait_until(lambda: len(attempts("steady")) == 4, within=60, what="4 attempts of steady")
    wait_until(lambda: len(attempts("jittered")) == JITTER_ATTEMPTS, within=30, what="jittered")
    steady, jittered = gaps(attempts("steady")), gaps(attempts("jittered"))
    print(f"\nretry gaps, jitter off: {steady} (expected {EXPECTED_GAPS})")
    print(f"retry gaps, jitter on (cap {JITTER_CAP}): {jittered}")
    assert [s["retries"] for s in starts(sync_redis, settings, "steady")] == [0, 1, 2, 3]
    for measured, expected in zip(steady, EXPECTED_GAPS, strict=True):
        assert expected * 0.8 <= measured <= expected * 1.2, (steady, EXPECTED_GAPS)
    # A gap is the drawn delay plus delivery; the delay itself never passes the cap.
    assert all(0 <= gap <= JITTER_CAP * 1.2 for gap in jittered), jittered

    async with database(settings) as sessionmaker:
        letters = await eventually(
            lambda: dead_letters(sessionmaker),
            lambda found: len(found) == 2,
            within=20,
            what="two dead letters",
        )
    by_name = {letter.args[0]: letter for letter in letters}
    assert {
        name: (letter.task_name, letter.reason, letter.attempts) for name, letter in by_name.items()
    } == {
        "steady": ("tests.delivery.flaky", DeadLetterReason.EXHAUSTED, 4),
        "jittered": ("tests.delivery.flaky", DeadLetterReason.EXHAUSTED, JITTER_ATTEMPTS),
    }
    assert "ConnectionError" in by_name["steady"].error
    assert "attempt 4 of 4 fails" in (by_name["steady"].traceback or "")

    returncode, listed = await run_module(settings, "tasks.dead_letters", "list")
    assert (returncode, len(listed.splitlines())) == (0, 2)

    sync_redis.set(fixed_key(settings, "steady"), "1")
    steady_id = by_name["steady"].id
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, headers=operator_headers
    ) as client:
        await eventually(lambda: healthy(client, web), bool, within=60, what="web healthy")
        replayed = await client.post(f"/admin/dead-letters/{steady_id}/replay")
        assert replayed.status_code == 202, replayed.text
        wait_until(lambda: len(attempts("steady")) == 5, within=20, what="the replayed run")
        # Replayed with a fresh retry budget, under its own task id, once.
        assert starts(sync_redis, settings, "steady")[-1]["retries"] == 0
        again = await client.post(f"/admin/dead-letters/{steady_id}/replay")
        assert again.status_code == 409, again.text
        listing = (await client.get("/admin/dead-letters", params={"reason": "exhausted"})).json()
    assert {item["id"]: item["replay_task_id"] for item in listing} == {
        steady_id: replayed.json()["task_id"],
        by_name["jittered"].id: None,
    }


async def healthy(client: httpx.AsyncClient, web: StackProcess) -> bool:
    if web.popen.poll() is not None:
        raise AssertionError(f"web exited:\n{web.log()}")
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.TransportError:
        return False
