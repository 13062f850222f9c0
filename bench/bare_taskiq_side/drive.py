"""Bare TaskIQ's client: `task.kiq()`, then `wait_result()` as taskiq's docs show it."""

from typing import Any

from taskiq import AsyncTaskiqDecoratedTask, AsyncTaskiqTask

from bench import drive as protocol
from bench.bare_taskiq_side import tasks
from bench.bare_taskiq_side.tasks import broker

__all__ = ["drive"]

TASKS: dict[protocol.TaskName, AsyncTaskiqDecoratedTask[Any, Any]] = protocol.by_task_name(tasks)


async def drive(args: protocol.DriveArgs) -> protocol.DriveReport:
    async def kick(seq: int) -> AsyncTaskiqTask[Any]:
        name, kwargs = protocol.task_call(args, seq)
        return await TASKS[name].kiq(**kwargs)

    async def collect(task: AsyncTaskiqTask[Any]) -> bool:
        return not (await task.wait_result(timeout=args.timeout)).is_err

    await broker.startup()
    try:
        return await protocol.drive_async(args, kick, collect)
    finally:
        await broker.shutdown()


if __name__ == "__main__":
    protocol.main_async(drive)
