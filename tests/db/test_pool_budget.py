"""The connection budget: pure maths by table, and web and worker refusing to start over it."""

import os
import subprocess
import sys

import pytest

from core.db.pool_budget import (
    Deployment,
    PoolBudgetError,
    PoolPlan,
    WorkerGroup,
    check_budget,
    plan_deployment,
    plan_pools,
)
from core.settings import Settings
from tests.conftest import StartProcess
from tests.support.processes import ROOT, free_port, wait_until


@pytest.mark.parametrize(
    ("max_connections", "processes", "reserve", "plan"),
    [
        # The Celery article's numbers: 200 connections, 18 processes, 10 % reserve.
        (200, 18, 0.1, PoolPlan(pool_size=7, max_overflow=3, processes=18, total=180, allowed=180)),
        (100, 3, 0.1, PoolPlan(pool_size=20, max_overflow=10, processes=3, total=90, allowed=90)),
        (100, 1, 0.0, PoolPlan(pool_size=67, max_overflow=33, processes=1, total=100, allowed=100)),
        (10, 9, 0.1, PoolPlan(pool_size=1, max_overflow=0, processes=9, total=9, allowed=9)),
    ],
)
def test_plan_pools(max_connections: int, processes: int, reserve: float, plan: PoolPlan) -> None:
    assert plan_pools(max_connections, processes, reserve=reserve) == plan


def test_more_processes_than_connections_is_an_error() -> None:
    with pytest.raises(PoolBudgetError, match="10 processes cannot have a connection each"):
        plan_pools(10, 10, reserve=0.2)


@pytest.mark.parametrize(
    ("web", "workers", "pool", "overflow", "fits"),
    [
        (1, 2, 10, 5, True),  # 45 of 90
        (2, 4, 10, 5, True),  # 90 of 90
        (4, 14, 20, 10, False),  # the article's 540 against 200 -> 180
        (2, 4, 10, 6, False),  # 96 of 90
    ],
)
def test_check_budget(web: int, workers: int, pool: int, overflow: int, fits: bool) -> None:
    settings = Settings(
        _env_file=None,
        web_processes=web,
        worker_processes=workers,
        db_pool_size=pool,
        db_max_overflow=overflow,
    )
    if fits:
        check_budget(settings, 100)
    else:
        with pytest.raises(PoolBudgetError, match="connection budget exceeded"):
            check_budget(settings, 100 if web < 4 else 200)


def test_web_and_worker_refuse_to_start_over_budget(start: StartProcess) -> None:
    # This server allows 100 connections; 3 processes x 40 cannot fit 90.
    over = {"DB_POOL_SIZE": "30", "DB_MAX_OVERFLOW": "10", "WORKER_PROCESSES": "2"}
    web = start("web", PORT=str(free_port()), **over)
    worker = start("worker", **over)
    wait_until(lambda: web.popen.poll() is not None, within=60, what="the web to refuse to start")
    assert web.popen.returncode != 0
    assert "connection budget exceeded: 3 processes (1 web, 2 worker children) x 40" in web.log()
    wait_until(
        lambda: "connection budget exceeded" in worker.log(), within=60, what="the worker's refusal"
    )
    # The whole worker stops; a respawned child would only refuse again.
    wait_until(lambda: worker.popen.poll() is not None, within=60, what="the worker to exit")


def deployment(*workers: tuple[str, int, int], web: int = 1, schedulers: int = 1) -> Deployment:
    groups = tuple(WorkerGroup(queue, replicas, children) for queue, replicas, children in workers)
    return Deployment(
        web_replicas=web, web_processes=1, workers=groups, scheduler_replicas=schedulers
    )


@pytest.mark.parametrize(
    ("max_connections", "planned", "plan"),
    [
        # deploy/k8s at full scale: 3 web, 6x2 default, 3x1 urgent, 3 schedulers + release 2.
        (
            200,
            deployment(("default", 6, 2), ("urgent", 3, 1), web=3, schedulers=3),
            PoolPlan(pool_size=6, max_overflow=3, processes=18, total=167, allowed=180),
        ),
        # deploy/compose.yaml: 1 web, 1x2 default, 1x1 urgent, 2 schedulers.
        (
            200,
            deployment(("default", 1, 2), ("urgent", 1, 1), schedulers=2),
            PoolPlan(pool_size=30, max_overflow=14, processes=4, total=180, allowed=180),
        ),
        # The unpooled connections count: 10 after reserve, 3 fixed, 7 for 7 processes.
        (12, deployment(("default", 3, 2), schedulers=1), PoolPlan(1, 0, 7, 10, 10)),
    ],
)
def test_plan_deployment(max_connections: int, planned: Deployment, plan: PoolPlan) -> None:
    assert plan_deployment(max_connections, planned) == plan


def test_a_deployment_past_the_server_is_an_error() -> None:
    with pytest.raises(PoolBudgetError, match=r"8 processes .* 10 after a 10% reserve, 7 after 3"):
        plan_deployment(12, deployment(("default", 7, 1)))


def budget_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.db.pool_budget", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_prints_pool_settings_for_replica_counts() -> None:
    result = budget_cli(
        "--max-connections", "200", "--web-replicas", "3",
        "--worker-replicas", "default=6", "--worker-processes", "default=2",
        "--worker-replicas", "urgent=3", "--worker-processes", "urgent=1",
        "--scheduler-replicas", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "max_connections=200, usable after reserve: 180",
        "web: 3 replicas x 1 processes x 9 = 27",
        "worker default: 6 replicas x 2 children x 9 = 108",
        "worker urgent: 3 replicas x 1 children x 9 = 27",
        "scheduler: 3 replicas x 1 = 3",
        "release step: 2",
        "18 pooled processes -> DB_POOL_SIZE=6 DB_MAX_OVERFLOW=3",
        "at most 167 connections in use",
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--worker-replicas", "default"], "--worker-replicas takes QUEUE=N"),
        (["--worker-replicas", "default=0"], "--worker-replicas takes QUEUE=N (N >= 1)"),
        (["--worker-processes", "urgent=2"], "queues without --worker-replicas: ['urgent']"),
        (["--web-replicas", "0"], "a whole number >= 1, not '0'"),
        (["--max-connections", "5", "--web-replicas", "9"], "11 processes cannot have"),
    ],
)
def test_cli_refuses_bad_counts(args: list[str], error: str) -> None:
    result = budget_cli("--max-connections", "100", *args)
    assert result.returncode != 0
    assert error in result.stderr


def test_cli_asks_the_server_when_no_limit_is_given(settings: Settings) -> None:
    # The test server runs with max_connections=100 (test_web_and_worker_refuse_to_start...).
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "core.db.pool_budget", "--worker-children", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "max_connections=100, usable after reserve: 90" in result.stdout
    # 1 web + 3 children pooled, 1 scheduler + 2 release unpooled: (90 - 3) // 4 = 21.
    assert "4 pooled processes -> DB_POOL_SIZE=14 DB_MAX_OVERFLOW=7" in result.stdout
