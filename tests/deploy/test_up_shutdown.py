"""`python -m deploy.up` on embedded servers and a throwaway Procfile of real uvicorn and taskiq.

A worker runs for each queue in QUEUES. A SIGINT (to deploy.up, or to the `make` running it)
stops every worker after its in-flight task, then web and scheduler, then the servers, and
leaves no process behind.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import psutil
import pytest

from tests.deploy.process_tree import survivors, tree
from tests.support.processes import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 60.0
STOP_SECONDS = 60.0
QUEUES = ("default", "urgent")
CHILDREN = 2  # --workers of the probe's worker entry
# Longer than honcho's 5 s between the first process exiting (the idle worker, at once) and
# SIGKILL for the rest: only a stop that waits for every worker lets this task finish.
TASK_SECONDS = 8

PROBE_MODULE = '''
import asyncio
import os

from taskiq import TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisStreamBroker

# As the stack's: each worker reads the stream of its WORKER_QUEUE (the web: none).
QUEUE = os.environ.get("WORKER_QUEUE", "default")
broker = RedisStreamBroker(os.environ["REDIS_URL"], queue_name=QUEUE)
scheduler = TaskiqScheduler(broker, [LabelScheduleSource(broker)])


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def shutdown(state: TaskiqState) -> None:
    print("probe: worker shutdown ran", flush=True)


@broker.task
async def nap(seconds: float) -> None:
    print(f"probe: task started on {QUEUE}", flush=True)
    await asyncio.sleep(seconds)
    print(f"probe: task finished on {QUEUE}", flush=True)


async def app(scope, receive, send):
    """GET /QUEUE/N kicks a task sleeping N seconds onto QUEUE's stream."""
    await broker.startup()
    queue, seconds = scope["path"].strip("/").split("/")
    await nap.kicker().with_labels(queue_name=queue).kiq(float(seconds))
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})
'''

PROCFILE = """\
web: uvicorn probe:app --host 127.0.0.1 --port $PORT --lifespan off
worker: taskiq worker probe:broker --workers 2 --wait-tasks-timeout 10 --shutdown-timeout 5
scheduler: taskiq scheduler probe:scheduler
"""

READY_LINES = ["Uvicorn running on", *["Listening started"] * (len(QUEUES) * CHILDREN)]
READY_LINES.append("Startup completed")


class Stack:
    """A `deploy.up` run in the background, its output in a file."""

    def __init__(self, tmp_path: Path, data_dir: Path, via_make: bool) -> None:
        (tmp_path / "probe.py").write_text(PROBE_MODULE)
        (tmp_path / "Procfile").write_text(PROCFILE)
        self.port = free_port()
        self.log = tmp_path / "up.log"
        up = [
            sys.executable,
            *("-m", "deploy.up", "--skip-release"),
            *("--procfile", str(tmp_path / "Procfile"), "--data-dir", str(data_dir)),
        ]
        if via_make:
            (tmp_path / "Makefile").write_text(f"up:\n\texec {' '.join(up)}\n")
            command = ["make", "-f", str(tmp_path / "Makefile"), "up"]
        else:
            command = up
        env = {**os.environ, "STACK_EMBEDDED": "1", "PORT": str(self.port)}
        env["QUEUES"] = ",".join(QUEUES)
        env["PYTHONPATH"] = str(tmp_path)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self.processes: list[psutil.Process] = []

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, self.output()
            output = self.output()
            return all(output.count(line) >= READY_LINES.count(line) for line in READY_LINES)

        wait_until(ready, within=READY_SECONDS, what="web, workers and scheduler to start")
        self.processes = tree(self.process.pid)

    def commands(self) -> str:
        return "\n".join(" ".join(process.cmdline()) for process in self.processes)

    def stop_everything(self) -> None:
        """Teardown after a failed test: no process of this stack may outlive it."""
        for process in survivors([*self.processes, *tree(self.process.pid)]):
            process.kill()
        self.process.wait(10)


class StartStack(Protocol):
    def __call__(self, *, via_make: bool) -> Stack: ...


@pytest.fixture
def start_stack(tmp_path: Path, stack_dir: Path) -> Iterator[StartStack]:
    stacks: list[Stack] = []

    def start(*, via_make: bool) -> Stack:
        stack = Stack(tmp_path, stack_dir, via_make)
        stacks.append(stack)
        return stack

    yield start
    for stack in stacks:
        if stack.process.poll() is None or survivors(stack.processes):
            stack.stop_everything()


def assert_whole_stack_ran(stack: Stack) -> None:
    commands = stack.commands()
    for expected in ("valkey-server", "postgres -D", "honcho start", "uvicorn probe:app"):
        assert expected in commands
    # `/taskiq`: the processes themselves, not the `sh -c` honcho runs them with.
    workers = re.findall(r"/taskiq worker probe:broker", commands)
    assert len(workers) == len(QUEUES) * (1 + CHILDREN)  # per queue: main + children
    assert "-m deploy.queue_workers" in commands
    assert "/taskiq scheduler probe:scheduler" in commands


def test_sigint_drains_the_worker_then_stops_everything(start_stack: StartStack) -> None:
    stack = start_stack(via_make=False)
    stack.wait_ready()
    assert_whole_stack_ran(stack)
    # A long task on the urgent queue; the default queue's worker is idle and stops at once.
    urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/urgent/{TASK_SECONDS}", timeout=10)
    wait_until(lambda: "probe: task started" in stack.output(), within=10, what="the task")

    stack.process.send_signal(signal.SIGINT)

    assert stack.process.wait(STOP_SECONDS) == 0, stack.output()
    assert survivors(stack.processes) == []
    output = stack.output()
    assert "probe: task started on urgent" in output
    assert output.index("probe: task finished on urgent") < output.index("stopping embedded")
    assert output.count("probe: worker shutdown ran") == len(QUEUES) * CHILDREN


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_sigint_to_make_alone_still_stops_everything(start_stack: StartStack) -> None:
    stack = start_stack(via_make=True)
    stack.wait_ready()
    assert_whole_stack_ran(stack)

    # make passes no SIGINT on to its recipe; deploy.up notices make was interrupted.
    stack.process.send_signal(signal.SIGINT)

    assert stack.process.wait(STOP_SECONDS) == -signal.SIGINT, stack.output()
    assert survivors(stack.processes) == []
    assert "stopping embedded servers" in stack.output()
