"""What a worker child checks before it fetches anything: it refuses, loudly, to run in a
setup where delivery would silently degrade.

- uvloop. Without it, taskiq's child sets its shutdown event from a plain `signal.signal`
  handler, which does not wake asyncio's selector: on the stream broker the child then never
  finishes its shutdown after SIGTERM (docs/delivery.md). uvloop installs a wakeup fd, and
  taskiq uses it when importable; `taskiq[uv]` is a dependency, so its absence is a broken
  environment.
- our receiver (taskiq_durable/streams/receiver.py), without which a message whose handling failed
  outside its task would be heartbeated, and so held, for the life of the child.
"""

import asyncio

from taskiq import TaskiqState

from taskiq_durable.fatal import stop_worker

RECEIVER_HINT = (
    "a --receiver derived from taskiq_durable.streams.receiver.StreamReceiver (the Procfile's)"
)


def _refuse(message: str) -> None:
    # No respawned child could do better: the whole worker stops (taskiq_durable/fatal.py).
    raise stop_worker(message)


def loop_is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.split(".")[0] == "uvloop"


def require_uvloop() -> None:
    loop = asyncio.get_running_loop()
    if not loop_is_uvloop(loop):
        _refuse(
            f"worker child runs on {type(loop).__module__}.{type(loop).__name__}, not uvloop: "
            "it would hang on SIGTERM. Install taskiq[uv] (uvloop) in this environment."
        )


def require_stream_receiver(state: TaskiqState) -> None:
    if not getattr(state, "stream_receiver", False):
        _refuse(f"the stream broker needs its receiver: start `taskiq worker` with {RECEIVER_HINT}")
