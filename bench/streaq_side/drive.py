"""streaq's client: `await task.enqueue(...)`, then `await task.result(timeout)` (a pub/sub
subscription per awaited task), inside `async with worker`, as streaq's docs show it."""

from datetime import timedelta
from typing import Any

from streaq.task import AsyncRegisteredTask, Task

from bench import drive as protocol
from bench.streaq_side import tasks
from bench.streaq_side.tasks import worker

__all__ = ["drive"]

TASKS: dict[protocol.TaskName, AsyncRegisteredTask[..., Any]] = protocol.by_task_name(tasks)


async def drive(args: protocol.DriveArgs) -> protocol.DriveReport:
    async def kick(seq: int) -> Task[..., Any]:
        name, kwargs = protocol.task_call(args, seq)
        return await TASKS[name].enqueue(**kwargs)

    async def collect(task: Task[..., Any]) -> bool:
        return (await task.result(timeout=timedelta(seconds=args.timeout))).success

    async with worker:
        return await protocol.drive_async(args, kick, collect)


if __name__ == "__main__":
    protocol.main_async(drive)
