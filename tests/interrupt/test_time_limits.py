"""Time limits on a real worker: hard and soft limits of async tasks, and CPU-bound work
killed at its hard limit while the worker keeps serving."""

import psutil
from taskiq import AsyncBroker

from tests.conftest import StartProcess
from tests.interrupt.conftest import SMALL_POOLS, WORKER, Events
from tests.interrupt.tasks_for_tests import HARD_LIMIT, cpu_work, sleep, slow_cleanup
from tests.support.processes import StackProcess, wait_until

# Generous: the worker starts, and the tasks run, on a shared, busy machine.
RESULT_WAIT = 60.0


def cpu_processes(worker: StackProcess) -> set[int]:
    return {
        p.pid
        for p in worker.children()
        if "taskiq_durable.cpu_process" in " ".join(p.cmdline())
        and p.status() != psutil.STATUS_ZOMBIE
    }


async def test_hard_limit_cancels_the_task_and_records_a_timeout_failure(
    start: StartProcess, client_broker: AsyncBroker, events: Events
) -> None:
    start("worker", WORKER, WORKER_PROCESSES="1", **SMALL_POOLS)
    kicker = sleep.kicker().with_broker(client_broker).with_labels(time_limit=1)
    # The sleep outlasts the wait: a result at all means the limit stopped it.
    task = await kicker.kiq("h", 10 * RESULT_WAIT)
    result = await task.wait_result(timeout=RESULT_WAIT)

    assert result.is_err
    assert type(result.error).__name__ == "TimeLimitExceeded"
    assert isinstance(result.error, TimeoutError)  # an ordinary failure to retry policies
    assert str(result.error) == "tests.interrupt.sleep: hard time limit (1s)"
    # Cancelled at its await, so its `finally` ran.
    assert set(events()) == {"started:h", "stopped:h"}


async def test_soft_limit_lets_the_task_clean_up_before_the_hard_limit(
    start: StartProcess, client_broker: AsyncBroker, events: Events
) -> None:
    start("worker", WORKER, WORKER_PROCESSES="1", **SMALL_POOLS)
    task = await slow_cleanup.kicker().with_broker(client_broker).kiq("s")
    result = await task.wait_result(timeout=RESULT_WAIT)

    # The cleanup (which awaits) ran to its end after the soft limit ...
    happened = events()
    assert set(happened) == {"started:s", "soft:s", "cleaned:s"}
    assert happened["started:s"] < happened["soft:s"] < happened["cleaned:s"]
    # ... and the hard limit still stopped the task when it overran afterwards.
    assert type(result.error).__name__ == "TimeLimitExceeded"
    assert str(result.error) == f"tests.interrupt.slow_cleanup: hard time limit ({HARD_LIMIT:g}s)"


async def test_cpu_bound_work_is_killed_at_its_hard_limit_and_the_worker_keeps_serving(
    start: StartProcess, client_broker: AsyncBroker
) -> None:
    worker = start("worker", WORKER, WORKER_PROCESSES="1", **SMALL_POOLS)
    kicker = cpu_work.kicker().with_broker(client_broker)
    warm = await kicker.kiq("square")
    assert (await warm.wait_result(timeout=RESULT_WAIT)).return_value == 49
    (spinning,) = cpu_processes(worker)

    spun = await (await kicker.kiq("spin")).wait_result(timeout=RESULT_WAIT)
    assert type(spun.error).__name__ == "TimeLimitExceeded"
    assert "process killed" in str(spun.error)
    wait_until(lambda: not psutil.pid_exists(spinning), within=10, what="busy process gone")

    # The same worker child, with a fresh CPU process, serves the next calls.
    for _ in range(2):
        again = await (await kicker.kiq("square")).wait_result(timeout=RESULT_WAIT)
        assert again.return_value == 49
    (replacement,) = cpu_processes(worker)
    assert replacement != spinning
