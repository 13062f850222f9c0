"""`python -m taskiq_durable.cpu_process`: one process of a worker child's CPU pool
(`taskiq_durable.cpu_pool`).

It reads one JSON request per line on stdin, `{"func": "pkg.module:name", "args": [...]}`, calls
the function and writes one JSON line back: `{"ok": true, "value": ...}` or
`{"ok": false, "error": {"type", "module", "message", "traceback"}}`. JSON, not pickle, as
everywhere else in the stack. It exits when stdin closes or its parent dies, and it is killed by
the pool when a call overruns its hard limit.
"""

import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

# How often the process checks that the worker child that started it is still alive.
PARENT_CHECK_SECONDS = 1.0


def resolve(reference: str) -> Callable[..., Any]:
    module_name, _, qualname = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{reference} is not callable")
    return target  # type: ignore[no-any-return]


def answer(line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
        value = resolve(request["func"])(*request["args"])
        json.dumps(value)  # a result that is not JSON fails here, as the call's own error
    except Exception as exc:  # noqa: BLE001 - any failure of the call goes back to the caller
        return {
            "ok": False,
            "error": {
                "type": type(exc).__qualname__,
                "module": type(exc).__module__,
                "message": str(exc),
                "traceback": traceback.format_exc(),
            },
        }
    return {"ok": True, "value": value}


def _exit_with_parent(parent: int) -> None:
    # A busy call never reads stdin, so EOF alone would not stop it after a SIGKILLed parent.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    for line in requests:
        replies.write(json.dumps(answer(line)).encode() + b"\n")
        replies.flush()


def main() -> None:
    # Ctrl-C reaches the whole process group; the worker child decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    # Replies get the real stdout; whatever the called code prints goes to stderr instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
