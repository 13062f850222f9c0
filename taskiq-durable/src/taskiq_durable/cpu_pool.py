"""CPU-bound sync work with a hard limit that really stops it: `await cpu.run(func, *args)`.

A timeout cannot stop sync code in a thread, and `ProcessPoolExecutor` cannot kill one job
without breaking the whole pool. So each worker child keeps `CPU_PROCESSES` processes of its
own (`python -m taskiq_durable.cpu_process`, started by exec, not fork: nothing of the child's loop,
pools or sockets is inherited). A call that overruns `hard_limit`, or whose task is cancelled
(revoke, the task's own time limits), gets its process killed and replaced; the call raises
`TimeLimitExceeded` or the cancellation.

`func` must be a module-level function; arguments and return value travel as JSON (so a tuple
comes back as a list). Built by the worker's startup hook; tasks get it as `cpu: Cpu`.
"""

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from taskiq_durable.time_limits import TimeLimitExceeded

logger = logging.getLogger(__name__)

R = TypeVar("R")

# One reply is one line; results larger than this fail the call.
MAX_REPLY_BYTES = 64 * 1024 * 1024
RESPAWN_DELAY = 1.0


class CpuTaskError(Exception):
    """The function raised in its process (or the process died); `remote_type` names what."""

    def __init__(self, message: str, *, remote_type: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback


def reference(func: Callable[..., Any]) -> str:
    """`module:qualname` of a function another process can import; TypeError otherwise."""
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", "")
    if not qualname or not module or "<" in qualname or module == "__main__":
        raise TypeError(f"{func!r} is not an importable module-level function")
    return f"{module}:{qualname}"


async def _spawn() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "taskiq_durable.cpu_process",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=os.getcwd(),
        limit=MAX_REPLY_BYTES,
    )


async def _call(process: asyncio.subprocess.Process, request: bytes) -> Any:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(request)
    await process.stdin.drain()
    line = await process.stdout.readline()
    if not line:
        code = await process.wait()
        raise CpuTaskError(f"cpu process exited with code {code}", remote_type="ProcessExit")
    reply = json.loads(line)
    if reply["ok"]:
        return reply["value"]
    error = reply["error"]
    raise CpuTaskError(
        f"{error['type']}: {error['message']}",
        remote_type=error["type"],
        remote_traceback=error["traceback"],
    )


class CpuPool:
    def __init__(self, size: int) -> None:
        self._size = size
        self._idle: asyncio.Queue[asyncio.subprocess.Process] = asyncio.Queue()
        self._all: set[asyncio.subprocess.Process] = set()
        self._respawns: set[asyncio.Task[None]] = set()

    def pids(self) -> set[int]:
        return {process.pid for process in self._all}

    async def start(self) -> None:
        for process in await asyncio.gather(*(_spawn() for _ in range(self._size))):
            self._all.add(process)
            self._idle.put_nowait(process)

    async def run(self, func: Callable[..., R], *args: Any, hard_limit: float | None = None) -> R:
        """`func(*args)` in a pool process, killed at `hard_limit` seconds (None: no own limit)."""
        if hard_limit is not None and hard_limit <= 0:
            raise ValueError(f"hard_limit must be positive, got {hard_limit}")
        try:
            request = json.dumps({"func": reference(func), "args": list(args)}).encode() + b"\n"
        except TypeError as exc:
            raise TypeError(f"arguments of {func.__qualname__} are not JSON: {exc}") from exc
        process = await self._idle.get()
        while process.returncode is not None:  # died while idle: replace it, take another
            self._replace(process)
            process = await self._idle.get()
        try:
            async with asyncio.timeout(hard_limit):
                value: R = await _call(process, request)
        except TimeoutError as exc:
            self._replace(process)
            raise TimeLimitExceeded(
                f"{func.__qualname__}: hard time limit ({hard_limit:g}s), process killed"
            ) from exc
        except CpuTaskError as exc:
            if exc.remote_type == "ProcessExit":
                self._replace(process)
            else:
                self._idle.put_nowait(process)
            raise
        except BaseException:
            # Cancelled (or interrupted) mid-call: the process is still busy with it.
            self._replace(process)
            raise
        self._idle.put_nowait(process)
        return value

    def _replace(self, process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        respawn = asyncio.create_task(self._respawn(process))
        self._respawns.add(respawn)
        respawn.add_done_callback(self._respawns.discard)

    async def _respawn(self, dead: asyncio.subprocess.Process) -> None:
        await dead.wait()
        self._all.discard(dead)
        while True:
            try:
                process = await _spawn()
            except OSError:
                logger.exception("cannot start a cpu process; retrying")
                await asyncio.sleep(RESPAWN_DELAY)
                continue
            self._all.add(process)
            self._idle.put_nowait(process)
            return

    async def close(self) -> None:
        for respawn in list(self._respawns):
            respawn.cancel()
        await asyncio.gather(*self._respawns, return_exceptions=True)
        for process in self._all:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        self._all.clear()


@asynccontextmanager
async def open_cpu_pool(size: int) -> AsyncIterator[CpuPool]:
    pool = CpuPool(size)
    try:
        await pool.start()
        yield pool
    finally:
        await pool.close()
