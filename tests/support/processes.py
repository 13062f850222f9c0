"""Starting the stack's processes as subprocesses, exactly as the Procfile does, and stopping them.

Each process gets its own session (process group), so a stop reaches `taskiq worker`'s children
too, and nothing outlives the test.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"


def procfile_commands() -> dict[str, str]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if match := re.match(r"^(\w+):\s*(.+)$", line):
            entries[match[1]] = match[2]
    return entries


def worker_command(*modules: str) -> str:
    """The Procfile's worker line, also importing `modules` (test-only task modules)."""
    return procfile_commands()["worker"].replace(
        "tasks.registry", " ".join(("tasks.registry", *modules))
    )


def web_command(*modules: str) -> str:
    """The Procfile's web line, importing `modules` (test-only task modules) before the app, so
    the web process knows their tasks: a replay is refused for a task it doesn't know."""
    imports = "".join(f"import {module}; " for module in modules)
    return procfile_commands()["web"].replace(
        "uvicorn ", f"python -c '{imports}import uvicorn.main; uvicorn.main.main()' ", 1
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], object], *, within: float, what: str, every: float = 0.1
) -> None:
    """Poll `condition` until it is truthy; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        time.sleep(every)


@dataclass
class StackProcess:
    name: str
    command: str
    log_path: Path
    popen: subprocess.Popen[bytes]
    pids: set[int] = field(default_factory=set)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def remember_pids(self) -> None:
        self.pids |= {self.popen.pid, *(child.pid for child in self.children())}

    def alive_pids(self) -> set[int]:
        self.remember_pids()
        return {pid for pid in self.pids if psutil.pid_exists(pid) and not _is_zombie(pid)}

    def stop(self, *, sig: int = signal.SIGINT, grace: float = 30.0) -> None:
        """Signal the group as Ctrl-C in a terminal does; SIGKILL what is left after `grace`."""
        self.remember_pids()
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(grace)
        for pid in self.alive_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(5)


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def start_process(
    name: str, command: str, env: Mapping[str, str], log_dir: Path, *, cwd: Path = ROOT
) -> StackProcess:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return StackProcess(name, command, log_path, popen)
