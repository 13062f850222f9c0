"""`make up` runs a worker for every queue in QUEUES (deploy.queue_workers): which Procfile entry
serves which queue, as tables, and the supervisor that runs them as one honcho process."""

import shlex
import subprocess
import sys

import pytest
from honcho.environ import parse_procfile

from deploy.queue_workers import PlanError, plan, supervised_procfile
from tests.support.processes import ROOT

WEB = "uvicorn app.main:app"
SCHEDULER = "python -m scheduler"
SHARED = "taskiq worker tasks.broker:broker --workers ${WORKER_PROCESSES:-2}"
URGENT = "env WORKER_QUEUE=urgent WORKER_PROCESSES=1 taskiq worker tasks.broker:broker"
EMAILS = "WORKER_QUEUE=emails taskiq worker tasks.broker:broker"


@pytest.mark.parametrize(
    ("processes", "queues", "expected"),
    [
        # The main Procfile: its one worker entry serves every queue.
        ({"worker": SHARED}, ["default"], {"default": SHARED}),
        (
            {"web": WEB, "worker": SHARED},
            ["default", "urgent", "emails"],
            {"default": SHARED, "urgent": SHARED, "emails": SHARED},
        ),
        # Procfile.queues: a queue with an entry of its own gets it, the others the shared one.
        (
            {"worker": SHARED, "worker_urgent": URGENT},
            ["default", "urgent", "emails"],
            {"default": SHARED, "urgent": URGENT, "emails": SHARED},
        ),
        (  # every queue its own entry (`env` or a plain assignment); no shared one needed
            {"worker_urgent": URGENT, "worker_emails": EMAILS},
            ["urgent", "emails"],
            {"urgent": URGENT, "emails": EMAILS},
        ),
        (  # a shared worker nobody needs is not started
            {"worker": SHARED, "worker_urgent": URGENT},
            ["urgent"],
            {"urgent": URGENT},
        ),
    ],
)
def test_every_queue_gets_one_worker(
    processes: dict[str, str], queues: list[str], expected: dict[str, str]
) -> None:
    assert plan(processes, queues) == expected
    assert list(plan(processes, queues)) == queues  # in the order of QUEUES


@pytest.mark.parametrize(
    ("processes", "queues", "error"),
    [
        ({"web": WEB}, ["default"], r"no Procfile entry reads queue\(s\) default"),
        ({"worker_urgent": URGENT}, ["default", "urgent"], r"reads queue\(s\) default:"),
        ({"worker": SHARED, "worker_urgent": URGENT}, ["default"], "'urgent', which is not in"),
        ({"worker_urgent": URGENT, "worker_x": URGENT}, ["urgent"], "both read 'urgent'"),
        ({"worker_emails": "taskiq worker tasks.broker:broker"}, ["emails"], "must say its queue"),
    ],
)
def test_a_queue_without_a_worker_or_with_two_stops_make_up(
    processes: dict[str, str], queues: list[str], error: str
) -> None:
    with pytest.raises(PlanError, match=error):
        plan(processes, queues)


@pytest.mark.parametrize("path", ["Procfile", "deploy/Procfile.queues"])
def test_the_procfile_honcho_runs_keeps_three_entries(path: str) -> None:
    processes = parse_procfile((ROOT / path).read_text()).processes
    supervised = supervised_procfile(processes, ["default", "urgent", "emails"])
    assert list(supervised) == ["web", "worker", "scheduler"]
    assert supervised["web"] == processes["web"]
    words = shlex.split(supervised["worker"])
    assert words[:3] == ["python", "-m", "deploy.queue_workers"]
    assert dict(word.split("=", 1) for word in words[3:]) == plan(
        processes, ["default", "urgent", "emails"]
    )


WAITS_FOR_TERM = """
import signal, sys, time
def stop(*_):
    print("stopped by SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("running", flush=True)
time.sleep(60)
"""


def test_one_worker_exiting_stops_the_others_and_the_supervisor_with_its_code() -> None:
    """As honcho does for a single worker: the rest drain and stop, and honcho stops the stack."""
    python = sys.executable
    supervisor = subprocess.run(
        [
            python,
            *("-m", "deploy.queue_workers"),
            f"default={python} -c 'import time, sys; time.sleep(1); sys.exit(3)'",
            f'urgent={python} -c "$WAITS"',
        ],
        cwd=ROOT,
        env={"WAITS": WAITS_FOR_TERM, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert supervisor.returncode == 3, supervisor.stdout + supervisor.stderr
    lines = supervisor.stdout.splitlines()
    # Each worker's output tagged with its queue; the one that kept running was stopped.
    assert "urgent  | running" in lines
    assert "urgent  | stopped by SIGTERM" in lines
    assert "the worker of queue 'default' exited (3): stopping the others" in lines
