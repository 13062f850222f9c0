"""The connection budget: pure maths by table, and web and worker refusing to start over it."""

import pytest

from core.db.pool_budget import PoolBudgetError, PoolPlan, check_budget, plan_pools
from core.settings import Settings
from tests.conftest import StartProcess
from tests.support.processes import free_port, wait_until


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
