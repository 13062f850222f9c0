"""The processes a run starts: each in its own session, logged to a file, stopped by its pid."""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil
import redis

from bench.background import Background

__all__ = ["RedisMemorySampler", "RssSampler", "Service", "rss_by_role", "wait_until"]

MB = 1024 * 1024


def wait_until(check: Callable[[], bool], within: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {within:.0f} s")
        time.sleep(every)


@dataclass
class Service:
    """One command of a stack (a worker, a web server, a scheduler) run as a subprocess."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    cwd: Path
    _proc: "subprocess.Popen[bytes] | None" = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        # Own session: a stray signal from the terminal reaches the harness, which then stops
        # every service in order, instead of reaching all of them at once.
        self._proc = subprocess.Popen(
            list(self.argv),
            env=dict(self.env),
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")

    def processes(self) -> list[psutil.Process]:
        """The main process first, then its descendants (worker children)."""
        try:
            main = psutil.Process(self.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to the main process (each CLI's graceful path), SIGKILL to the group after."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        # Children a main process left behind share its process group (its own session).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
        self._proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def rss_by_role(service: Service) -> dict[str, float]:
    """RSS in MB of the main process and of its children summed."""
    procs = service.processes()
    sizes: list[float] = []
    for proc in procs:
        try:
            sizes.append(proc.memory_info().rss / MB)
        except psutil.NoSuchProcess:
            sizes.append(0.0)
    if not sizes:
        return {}
    return {"main": sizes[0], "children": sum(sizes[1:]), "processes": float(len(sizes))}


class RssSampler(Background):
    """Peak RSS per service and role, sampled in a thread while a workload runs."""

    def __init__(self, services: Sequence[Service], every: float = 0.25) -> None:
        super().__init__()
        self.services = services
        self.every = every
        self.peaks: dict[str, dict[str, float]] = {}

    def sample(self) -> None:
        for service in self.services:
            peak = self.peaks.setdefault(service.name, {})
            for role, mb in rss_by_role(service).items():
                peak[role] = max(peak.get(role, 0.0), mb)

    def run(self, stop: threading.Event) -> None:
        self.sample()
        while not stop.wait(self.every):
            self.sample()
        self.sample()


class RedisMemorySampler(Background):
    """Peak growth of the Redis server's used_memory while a workload runs, in MB."""

    def __init__(self, url: str, every: float = 0.25) -> None:
        super().__init__()
        self.url = url
        self.every = every
        self.growth_mb = 0.0

    def run(self, stop: threading.Event) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            before = int(client.info("memory")["used_memory"])
            while True:
                used = int(client.info("memory")["used_memory"])
                self.growth_mb = max(self.growth_mb, (used - before) / MB)
                if stop.wait(self.every):
                    break
        finally:
            client.close()
