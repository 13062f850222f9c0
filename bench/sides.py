"""The stacks as the harness sees them: their services, client driver and settings."""

import re
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from bench.config import BenchConfig
from bench.drive import DriveReport, read_report
from bench.peer_runtime import (
    CONCURRENCY_ENV,
    DATABASE_URL_ENV,
    MAX_OVERFLOW,
    POOL_SIZE,
    REDIS_URL_ENV,
)
from bench.services import Service, wait_until

__all__ = ["Side", "claim_redis_db", "healthy", "peer_side", "procfile_command"]

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
    """One stack: its worker (built for a process count), and, for the stacks measured on W4, W5
    and W7, its web process and scheduler. `label` is how the report names it."""

    name: str
    label: str
    cfg: BenchConfig
    env: dict[str, str]
    drive_module: str
    make_worker: Callable[[int], Service]
    settings: dict[str, str]
    # Empties the queue after W7's bulk kicks (only the stacks with a web process run W7).
    purge: Callable[[], None] | None = None
    web: Service | None = None
    web_url: str = ""
    make_scheduler: Callable[[str], Service] | None = None
    connection_budget: int | None = None
    extra_services: list[Service] = field(default_factory=list)
    worker: Service = field(init=False)

    def __post_init__(self) -> None:
        self.worker = self.make_worker(self.cfg.worker_processes)

    def services(self) -> list[Service]:
        """Every long-running process of this side, in start order."""
        web = [self.web] if self.web is not None else []
        return [self.worker, *web, *self.extra_services]

    def drive_argv(
        self,
        workload: str,
        n: int,
        window: int,
        run_id: str,
        seconds: float | None = None,
        announce: bool = False,
        timeout: float = 600.0,
    ) -> list[str]:
        argv = [self.cfg.python, "-m", self.drive_module, "--workload", workload]
        argv += ["--n", str(n), "--window", str(window), "--run-id", run_id]
        argv += ["--timeout", str(timeout)]
        if seconds is not None:
            argv += ["--seconds", str(seconds)]
        if announce:
            argv.append("--announce")
        return argv

    def drive(
        self, workload: str, n: int, window: int, run_id: str, timeout: float = 600.0
    ) -> DriveReport:
        proc = subprocess.run(
            self.drive_argv(workload, n, window, run_id, timeout=timeout),
            env=self.env,
            cwd=self.cfg.root,
            capture_output=True,
            text=True,
            timeout=timeout + 300,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{self.name} driver failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        return read_report(proc.stdout)

    @property
    def round_trips_only(self) -> bool:
        """A peer: no web process or scheduler, so nothing after the round-trip workloads."""
        return self.web is None and self.make_scheduler is None

    def warm_up(self) -> None:
        """A worker is ready when it has run tasks: this also warms imports and caches."""
        self.worker.ensure_alive()
        report = self.drive("noop", 40, 40, f"warmup-{uuid.uuid4().hex[:8]}", timeout=300.0)
        if report.ok != 40:
            raise RuntimeError(
                f"{self.name} warm-up: {report.ok}/40 results\n{self.worker.log_tail()}"
            )

    def start(self) -> None:
        self.worker.start()
        if self.web is not None:
            web = self.web
            web.start()
            wait_until(lambda: healthy(web, self.web_url), 60, f"{self.name} web /health")
        self.warm_up()

    def restart_worker(self, processes: int, warm_up: bool = True) -> None:
        """Replace the worker by one with `processes` processes (W8)."""
        self.worker.stop()
        self.worker = self.make_worker(processes)
        self.worker.start()
        if warm_up:
            self.warm_up()

    def stop(self) -> None:
        for service in self.services():
            service.stop()


def peer_side(
    cfg: BenchConfig,
    name: str,
    label: str,
    worker_argv: Callable[[int], list[str]],
    settings: dict[str, str],
) -> Side:
    """A peer (bare TaskIQ, SAQ, streaq): a worker of `cfg.worker_processes` processes and a
    driver (`bench.<package>.drive`), on its own Redis database and the bench's PostgreSQL."""
    env = cfg.base_env() | {
        REDIS_URL_ENV: cfg.redis_url_of(name),
        DATABASE_URL_ENV: cfg.bench_db_url,
        CONCURRENCY_ENV: str(cfg.concurrency),
    }
    package = name.replace("-", "_") + "_side"

    def make_worker(processes: int) -> Service:
        return Service(
            f"{name} worker",
            worker_argv(processes),
            env,
            cfg.tmp / f"{name}-worker-{processes}.log",
            cfg.root,
        )

    common = {
        "worker": f"{cfg.worker_processes} processes × {cfg.concurrency} async slots",
        "broker / results": f"Redis DB {cfg.redis_dbs[name]}",
        "DB": f"an engine per worker process, built in its startup hook; pool {POOL_SIZE}"
        f"+{MAX_OVERFLOW} (the stack's)",
    }
    return Side(
        name=name,
        label=label,
        cfg=cfg,
        env=env,
        drive_module=f"bench.{package}.drive",
        make_worker=make_worker,
        settings=common | settings,
        connection_budget=cfg.worker_processes * (POOL_SIZE + MAX_OVERFLOW),
    )
