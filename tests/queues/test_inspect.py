"""`python -m tasks.inspect` against a real worker: a running task shows as active, a backlog as
waiting, a countdown as delayed, an unknown task as a dead letter, every task as registered."""

import asyncio
import json
import sys
import time
from datetime import datetime
from typing import Any

from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker
from taskiq_durable.delayed import later

from core.settings import Settings
from tasks.inspect.__main__ import collect
from tests.conftest import StartProcess, run_module, stack_env
from tests.patterns.conftest import until
from tests.queues.tasks_for_tests import slow
from tests.support.processes import ROOT, procfile_commands

BACKLOG = 20
RUNNING_SECONDS = 60.0  # stays running for the whole test; the worker drains for 1 s at stop


def worker_command() -> str:
    return procfile_commands()["worker"].replace(
        "tasks.registry", "tasks.registry tests.queues.tasks_for_tests"
    )


async def rows(command: str, settings: Settings, section: str) -> list[dict[str, Any]]:
    return (await collect(command, settings))[section]


async def test_inspect_reads_what_a_real_worker_left(
    start: StartProcess, settings: Settings, client_broker: AsyncBroker
) -> None:
    start(
        "worker",
        worker_command(),
        WORKER_PROCESSES="1",
        WORKER_CONCURRENCY="1",
        WORKER_DRAIN_SECONDS="1",
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="2",
    )
    await AsyncKicker("tests.queues.missing", client_broker, {}).kiq()
    due = time.time() + 600
    await later(slow.kicker().with_broker(client_broker), countdown=600).kiq(0)

    async def parked() -> bool:
        dead = await rows("dead-letters", settings, "dead_letters")
        return bool(dead and await rows("scheduled", settings, "delayed"))

    await until(parked, within=90, what="a dead letter and a parked countdown", every=0.5)
    running = await slow.kicker().with_broker(client_broker).kiq(RUNNING_SECONDS)
    for _ in range(BACKLOG):
        await slow.kicker().with_broker(client_broker).kiq(RUNNING_SECONDS)

    async def settled() -> list[dict[str, Any]] | None:
        active = await rows("active", settings, "active")
        ids = {row["task_id"] for row in active}
        return active if running.task_id in ids else None

    active = await until(settled, within=60, what="the first task running")

    (default, urgent) = await rows("queues", settings, "queues")
    assert (default["queue"], urgent["queue"]) == ("default", "urgent")
    # Everything kicked is accounted for: delivered (running or fetched next) or waiting.
    assert default["pending"] + default["waiting"] == BACKLOG + 1
    assert default["pending"] == len(active) >= 1
    assert default["waiting"] >= BACKLOG - 1
    assert (urgent["length"], urgent["pending"]) == (0, 0)
    # The one worker child reads default; nobody reads urgent.
    assert (default["readers"], urgent["readers"]) == (1, 0)
    assert {row["task"] for row in active} == {"tests.queues.slow"}
    assert all(row["deliveries"] == 1 for row in active)

    (consumer,) = await rows("pending", settings, "consumers")
    assert consumer["pending"] == default["pending"]

    (countdown,) = await rows("scheduled", settings, "delayed")
    assert countdown["task"] == "tests.queues.slow"
    assert abs(datetime.fromisoformat(countdown["due"]).timestamp() - due) < 5

    (letter,) = await rows("dead-letters", settings, "dead_letters")
    assert (letter["task"], letter["reason"]) == ("tests.queues.missing", "unknown_task")

    registered = {row["task"]: row for row in await rows("registered", settings, "registered")}
    assert registered["tests.queues.ping"]["queue"] == "urgent"
    assert registered["reports.daily"]["schedule"] == settings.daily_report_cron

    # The command line, as an operator runs it.
    returncode, stdout = await run_module(settings, "tasks.inspect", "queues", "--json")
    assert returncode == 0
    printed = json.loads(stdout)["queues"][0]
    assert printed["pending"] + printed["waiting"] == BACKLOG + 1


async def test_queues_lists_every_configured_queue(settings: Settings) -> None:
    """A service's own queue set, as QUEUES gives it: every queue listed, read or not."""
    custom = settings.model_copy(update={"queues": ("default", "emails", "reports")})
    listed = await rows("queues", custom, "queues")
    assert [row["queue"] for row in listed] == ["default", "emails", "reports"]
    assert [row["stream"] for row in listed] == [
        custom.key("queue", name) for name in custom.queues
    ]
    assert all(row["length"] == row["readers"] == 0 for row in listed)

    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tasks.inspect", "queues", "--json"),
        cwd=ROOT,
        env=stack_env(settings, QUEUES="default,emails,reports"),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert cli.returncode == 0
    assert [row["queue"] for row in json.loads(stdout)["queues"]] == [
        "default",
        "emails",
        "reports",
    ]
