"""The TaskIQ client side of a workload: `python -m bench.taskiq_side.drive ...`.

Kicks through the stack's broker (as the web process does) and awaits each result with the
stack's `taskiq_durable.results.ResultWaiter`: one MGET per tick for every pending result.
"""

from typing import Any

from taskiq import AsyncTaskiqDecoratedTask, AsyncTaskiqTask
from taskiq_durable.results import ResultWaiter

from bench import drive as protocol
from bench.taskiq_side import tasks
from tasks.broker import broker

__all__ = ["drive"]

TASKS: dict[protocol.TaskName, AsyncTaskiqDecoratedTask[Any, Any]] = protocol.by_task_name(tasks)


async def drive(args: protocol.DriveArgs) -> protocol.DriveReport:
    await broker.startup()
    waiter = ResultWaiter.for_broker(broker)

    async def kick(seq: int) -> AsyncTaskiqTask[Any]:
        name, kwargs = protocol.task_call(args, seq)
        return await TASKS[name].kiq(**kwargs)

    async def collect(task: AsyncTaskiqTask[Any]) -> bool:
        return not (await waiter.wait(task, within=args.timeout)).is_err

    try:
        return await protocol.drive_async(args, kick, collect)
    finally:
        await waiter.close()
        await broker.shutdown()


if __name__ == "__main__":
    protocol.main_async(drive)
