"""One database server binary run as a child process, started and stopped with bounds."""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

import psutil

__all__ = [
    "RunAs",
    "ServerError",
    "ServerProcess",
    "package_dir",
    "run_as",
    "stop_leftover",
    "wait_stopped",
]

POLL_SECONDS = 0.05
KILL_WAIT_SECONDS = 5.0


class ServerError(RuntimeError):
    """A database server could not be started, reached or stopped; the message says why."""


class ServerProcess:
    """A server binary in its own session, logging to a file.

    Its own session keeps a terminal's Ctrl-C (sent to the whole foreground process group) away
    from the servers: they must outlive the web, worker and scheduler processes until those have
    drained, and are stopped last.
    """

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, user: pwd.struct_passwd | None
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._log_path = log_path
        self._user = user
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise ServerError(f"{self.name} was not started")
        return self._popen.pid

    def start(self) -> None:
        with self._log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **run_as(self._user),
            )

    def wait_ready(self, is_ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not is_ready():
            if self._popen is None or self._popen.poll() is not None:
                raise ServerError(f"{self.name} exited during startup\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL, KILL_WAIT_SECONDS)
                raise ServerError(f"{self.name} not ready after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(POLL_SECONDS)

    def stop(self, sig: signal.Signals, timeout: float) -> None:
        """Ask with `sig`, wait up to `timeout`, then SIGKILL the whole session.

        The final `killpg` also catches helpers the server forked (PostgreSQL's background
        workers) should the main process have died without taking them down.
        """
        popen, self._popen = self._popen, None
        if popen is None:
            return
        if popen.poll() is None:
            popen.send_signal(sig)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _killpg(popen.pid)
                try:
                    popen.wait(KILL_WAIT_SECONDS)
                except subprocess.TimeoutExpired as exc:
                    raise ServerError(f"{self.name} survived SIGKILL") from exc
        _killpg(popen.pid)

    def log_tail(self, lines: int = 20) -> str:
        text = self._log_path.read_text(errors="replace").splitlines()
        return f"--- last lines of {self._log_path} ---\n" + "\n".join(text[-lines:])


def package_dir(package: str) -> Path:
    """Where an installed package lives, found without importing it (imports have side effects)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


class RunAs(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def run_as(user: pwd.struct_passwd | None) -> RunAs:
    """Popen arguments that drop root for `user` (PostgreSQL refuses to run as root)."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def stop_leftover(pid: int, expected_name: str, sig: signal.Signals, timeout: float) -> None:
    """Stop a server a previous run left behind (its owner was killed before it could stop it).

    Only a live process with the expected name is touched: a pid file may name a pid that has
    since been reused by something else.
    """
    try:
        process = psutil.Process(pid)
        if not process.name().startswith(expected_name):
            return
        process.send_signal(sig)
        if not wait_stopped(process, timeout):
            process.kill()
            if not wait_stopped(process, KILL_WAIT_SECONDS):
                raise ServerError(f"leftover {expected_name} (pid {pid}) survived SIGKILL")
    except psutil.NoSuchProcess:
        return


def wait_stopped(process: psutil.Process, timeout: float) -> bool:
    """Whether `process` has exited within `timeout` (a zombie has)."""
    # Not psutil's wait(): for a process that is not our child it waits until init has reaped
    # the zombie, which some container inits do only every few seconds. A zombie has stopped.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(POLL_SECONDS)
    return False


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
