"""The two stacks as the harness sees them: their services, client driver and settings."""

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from bench.config import BenchConfig
from bench.drive import DriveReport, read_report
from bench.services import Service, wait_until

__all__ = ["Side", "claim_redis_db", "healthy", "procfile_command"]

OWNER_KEY = "bench:owner"


def procfile_command(procfile: Path, process: str) -> str:
    """The command line of one Procfile entry, as honcho would hand it to a shell."""
    for line in procfile.read_text().splitlines():
        match = re.match(rf"^{re.escape(process)}:\s*(.+)$", line)
        if match:
            return match.group(1).strip()
    raise ValueError(f"{procfile} has no {process!r} process")


def claim_redis_db(url: str) -> None:
    """Empty a Redis database the bench owns; refuse one that holds anybody else's keys."""
    client = redis.Redis.from_url(url)
    try:
        if client.dbsize() and not client.exists(OWNER_KEY):
            raise RuntimeError(
                f"{url} holds keys the bench did not write; pick another BENCH_*_REDIS_DB"
            )
        client.flushdb()
        client.set(OWNER_KEY, "bench")
    finally:
        client.close()


def healthy(service: Service, base_url: str) -> bool:
    """GET /health answers 200; a service that died raises instead of being waited for."""
    service.ensure_alive()
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Side:
    name: str
    cfg: BenchConfig
    env: dict[str, str]
    drive_module: str
    worker: Service
    web: Service
    web_url: str
    make_scheduler: Callable[[str], Service]
    purge: Callable[[], None]
    settings: dict[str, str]
    connection_budget: int | None = None
    extra_services: list[Service] = field(default_factory=list)

    def drive_argv(
        self, workload: str, n: int, window: int, run_id: str, seconds: float | None = None
    ) -> list[str]:
        argv = [self.cfg.python, "-m", self.drive_module, "--workload", workload]
        argv += ["--n", str(n), "--window", str(window), "--run-id", run_id]
        if seconds is not None:
            argv += ["--seconds", str(seconds)]
        return argv

    def drive(self, workload: str, n: int, window: int, run_id: str) -> DriveReport:
        proc = subprocess.run(
            self.drive_argv(workload, n, window, run_id),
            env=self.env,
            cwd=self.cfg.root,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{self.name} driver failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        return read_report(proc.stdout)

    def start(self) -> None:
        self.worker.start()
        self.web.start()
        wait_until(lambda: healthy(self.web, self.web_url), 60, f"{self.name} web /health")
        self.worker.ensure_alive()
        # A worker is ready when it has run tasks: this also warms imports, pools and caches.
        report = self.drive("noop", 20, 10, "warmup")
        if report.ok != 20:
            raise RuntimeError(
                f"{self.name} warm-up: {report.ok}/20 results\n{self.worker.log_tail()}"
            )

    def stop(self) -> None:
        for service in (self.web, self.worker, *self.extra_services):
            service.stop()
