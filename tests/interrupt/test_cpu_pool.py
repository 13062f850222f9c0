"""`taskiq_durable.cpu_pool.CpuPool` on real processes, without a worker: calls, limits, bad
input."""

from collections.abc import AsyncIterator

import psutil
import pytest
from taskiq_durable.cpu_pool import CpuPool, CpuTaskError, open_cpu_pool
from taskiq_durable.time_limits import TimeLimitExceeded

from tests.interrupt.cpu_functions import fail, not_json, spin, square


@pytest.fixture
async def pool() -> AsyncIterator[CpuPool]:
    async with open_cpu_pool(1) as pool:
        yield pool


async def test_a_call_returns_its_value(pool: CpuPool) -> None:
    assert await pool.run(square, 12) == 144


async def test_a_busy_call_is_killed_at_its_hard_limit_and_its_process_replaced(
    pool: CpuPool,
) -> None:
    (before,) = pool.pids()
    with pytest.raises(TimeLimitExceeded, match="spin: hard time limit"):
        await pool.run(spin, hard_limit=0.5)
    # The next call waits for the replacement process and runs.
    assert await pool.run(square, 3) == 9
    (after,) = pool.pids()
    assert after != before
    assert not psutil.pid_exists(before)  # killed and reaped


async def test_the_functions_error_comes_back_with_its_type(pool: CpuPool) -> None:
    with pytest.raises(CpuTaskError, match=r"^ValueError: no good$") as raised:
        await pool.run(fail, "no good")
    assert raised.value.remote_type == "ValueError"
    assert "raise ValueError(message)" in raised.value.remote_traceback
    assert await pool.run(square, 2) == 4  # the process survives an ordinary error


async def test_a_result_that_is_not_json_is_an_error(pool: CpuPool) -> None:
    with pytest.raises(CpuTaskError, match=r"^TypeError: Object of type set"):
        await pool.run(not_json)


async def test_bad_calls_are_refused_before_anything_runs(pool: CpuPool) -> None:
    with pytest.raises(TypeError, match="not an importable module-level function"):
        await pool.run(lambda: 1)
    with pytest.raises(TypeError, match="arguments of square are not JSON"):
        await pool.run(square, object())
    with pytest.raises(ValueError, match="hard_limit must be positive"):
        await pool.run(square, 1, hard_limit=0)
