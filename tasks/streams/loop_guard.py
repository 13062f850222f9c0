"""Refuse to run a worker child on a loop that cannot shut down.

Without uvloop, taskiq's child sets its shutdown event from a plain `signal.signal` handler,
which does not wake asyncio's selector: on the stream broker the child then never finishes
its shutdown after SIGTERM (see docs/delivery.md). uvloop installs a wakeup fd, so taskiq
uses it when importable; `taskiq[uv]` is a dependency, and a child that finds itself on
another loop fails at startup, loudly, instead of hanging at the next deploy.
"""

import asyncio
import logging

logger = logging.getLogger(__name__)


class UnsafeEventLoopError(RuntimeError):
    pass


def loop_is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.split(".")[0] == "uvloop"


def require_uvloop() -> None:
    loop = asyncio.get_running_loop()
    if not loop_is_uvloop(loop):
        message = (
            f"worker child runs on {type(loop).__module__}.{type(loop).__name__}, not uvloop: "
            "it would hang on SIGTERM. Install taskiq[uv] (uvloop) in this environment."
        )
        logger.critical(message)
        raise UnsafeEventLoopError(message)
