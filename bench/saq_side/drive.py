"""SAQ's client: `queue.enqueue(name, **kwargs)`, then `job.refresh(until_complete=...)`, which
listens on the queue's one pub/sub subscription, as SAQ's README shows it.

`refresh` reads the job, then subscribes: a job that finishes in between sends its one
notification to nobody and the wait runs to its timeout. So each wait is short
(`REFRESH_SECONDS`) and repeated until the job is done, as the README's `job.refresh(1)` is.
"""

from saq import Job, Status
from saq.job import TERMINAL_STATUSES

from bench import drive as protocol
from bench.saq_side.tasks import queue

__all__ = ["drive"]

REFRESH_SECONDS = 0.5


async def drive(args: protocol.DriveArgs) -> protocol.DriveReport:
    async def kick(seq: int) -> Job:
        name, kwargs = protocol.task_call(args, seq)
        job = await queue.enqueue(name, **kwargs)
        if job is None:
            raise RuntimeError(f"SAQ refused job {seq} as a duplicate")
        return job

    async def collect(job: Job) -> bool:
        while True:
            try:
                await job.refresh(until_complete=REFRESH_SECONDS)
            except TimeoutError:
                continue
            if job.status in TERMINAL_STATUSES:
                return job.status == Status.COMPLETE

    await queue.connect()
    try:
        return await protocol.drive_async(args, kick, collect)
    finally:
        await queue.disconnect()


if __name__ == "__main__":
    protocol.main_async(drive)
