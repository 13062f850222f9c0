"""A worker for every configured queue under `make up`: which command reads which queue, and the
one process that runs them all.

Each queue is its own stream and a worker reads exactly one (`WORKER_QUEUE`), so `make up`
starts a worker per queue in `QUEUES`. The Procfile's worker entries say how:

- an entry named `worker` or `worker_<anything>` whose command sets `WORKER_QUEUE=<queue>`
  (`env WORKER_QUEUE=urgent ... taskiq worker ...`) is that queue's worker, sized as it says;
- the one `worker` entry that sets no queue serves every configured queue without its own.

A queue no entry serves, an entry naming a queue that is not configured, or two entries for
one queue stop `make up` before anything starts: a kick to a queue nobody reads waits for ever.

All of them run as one honcho process, `python -m deploy.queue_workers QUEUE=COMMAND ...`, not
as one honcho entry each: honcho stops everything when any process exits and SIGKILLs what is
left 5 s later, so with one entry per queue the first worker to finish draining would have the
others killed mid-task. This process passes each stop signal on to every worker and exits
only when every worker has, so `deploy.up` still stops all the workers first and lets each
drain (tests/deploy/test_up_shutdown.py); what `deploy.up` finds still running at the end, it
kills, workers included. One
worker exiting on its own stops the others (they drain) and then this process, and honcho
stops the rest, as it would for a single worker.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import IO

__all__ = ["PlanError", "plan", "supervised_procfile"]

WORKER = "worker"
QUEUE_VARIABLE = "WORKER_QUEUE"
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PlanError(ValueError):
    """The Procfile's worker entries and QUEUES don't give every queue exactly one worker."""


def is_worker_entry(name: str) -> bool:
    return name == WORKER or name.startswith(f"{WORKER}_")


def _queue_of(command: str) -> str | None:
    """The `WORKER_QUEUE=` the command sets in front of its program (`env X=1 ...` or `X=1 ...`)."""
    words = shlex.split(command)
    if words[:1] == ["env"]:
        words = words[1:]
    for word in words:
        name, equals, value = word.partition("=")
        if not equals or not name.isidentifier():
            return None
        if name == QUEUE_VARIABLE:
            return value
    return None


def plan(processes: Mapping[str, str], queues: Sequence[str]) -> dict[str, str]:
    """Queue -> the command of its worker, in the order of `queues`; `PlanError` if any queue
    would have no worker or two, or a worker would read a queue that is not configured."""
    own: dict[str, tuple[str, str]] = {}
    shared: list[str] = []
    for name, command in processes.items():
        if not is_worker_entry(name):
            continue
        queue = _queue_of(command)
        if queue is None:
            if name != WORKER:
                raise PlanError(f"Procfile entry {name!r} must say its queue: {QUEUE_VARIABLE}=")
            shared.append(command)
        elif queue not in queues:
            raise PlanError(
                f"Procfile entry {name!r} reads queue {queue!r}, which is not in QUEUES"
                f" ({','.join(queues)})"
            )
        elif queue in own:
            raise PlanError(f"Procfile entries {own[queue][0]!r} and {name!r} both read {queue!r}")
        else:
            own[queue] = (name, command)
    unserved = [queue for queue in queues if queue not in own]
    if unserved and not shared:
        raise PlanError(
            f"no Procfile entry reads queue(s) {', '.join(unserved)}: add a `{WORKER}` entry"
            f" without {QUEUE_VARIABLE} or one with {QUEUE_VARIABLE}=<queue> for each"
        )
    return {queue: own[queue][1] if queue in own else shared[0] for queue in queues}


def supervised_procfile(processes: Mapping[str, str], queues: Sequence[str]) -> dict[str, str]:
    """The Procfile honcho runs: the worker entries replaced by one `worker`, this module
    running every queue's worker; the other entries as they are, in their order."""
    workers = plan(processes, queues)
    supervisor = shlex.join(
        ["python", "-m", "deploy.queue_workers", *(f"{q}={cmd}" for q, cmd in workers.items())]
    )
    result: dict[str, str] = {}
    for name, command in processes.items():
        if not is_worker_entry(name):
            result[name] = command
        elif WORKER not in result:
            result[WORKER] = supervisor
    return result


def _relay(queue: str, width: int, output: IO[bytes]) -> None:
    """Copy a worker's output line by line, each line tagged with its queue."""
    prefix = f"{queue:<{width}} | ".encode()
    for line in output:
        sys.stdout.buffer.write(prefix + line)
        sys.stdout.buffer.flush()


class Supervisor:
    """Runs one worker command per queue; see the module docstring."""

    def __init__(self, workers: Mapping[str, str]) -> None:
        self._stopping = False
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        width = max(len(queue) for queue in workers)
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
        self._relays: list[threading.Thread] = []
        for queue, command in workers.items():
            # Each worker in a process group of its own, which this process signals once per
            # stop request it gets. Sharing ours, a worker would get every signal sent to the
            # group and the one passed on: two SIGTERMs at once can deadlock taskiq's main
            # process (its handler, re-entered, waits on the queue lock it already holds).
            process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                env={**os.environ, QUEUE_VARIABLE: queue},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
            assert process.stdout is not None
            relay = threading.Thread(target=_relay, args=(queue, width, process.stdout))
            relay.start()
            self._workers[queue] = process
            self._relays.append(relay)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        self._signal_running(signal.Signals(signum))

    def _signal_running(self, sig: signal.Signals) -> None:
        for process in self._workers.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)  # the worker and its children, as honcho does

    def run(self) -> int:
        """Wait for every worker; returns the first non-zero exit code, 0 if none."""
        while any(process.poll() is None for process in self._workers.values()):
            if not self._stopping:
                exited = [q for q, p in self._workers.items() if p.returncode is not None]
                if exited:
                    code = self._workers[exited[0]].returncode
                    print(f"the worker of queue {exited[0]!r} exited ({code}): stopping the others")
                    sys.stdout.flush()
                    self._stopping = True
                    self._signal_running(signal.SIGTERM)
            time.sleep(POLL_SECONDS)
        for relay in self._relays:
            relay.join()
        return next((p.returncode for p in self._workers.values() if p.returncode), 0)


def main(argv: Sequence[str]) -> int:
    workers = dict(arg.split("=", 1) for arg in argv)
    if not workers or any(not queue for queue in workers):
        print("usage: python -m deploy.queue_workers QUEUE=COMMAND ...", file=sys.stderr)
        return 2
    return Supervisor(workers).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
