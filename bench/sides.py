"""The two stacks as the harness sees them: their services, client driver and settings."""

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import redis

from bench.celery_baseline.app import QUEUE, TICK_RUN_ID_ENV
from bench.config import BenchConfig, free_port
from bench.drive import DriveReport, read_report
from bench.services import Service, wait_until

__all__ = ["Side", "celery_side", "claim_redis_db"]

OWNER_KEY = "bench:owner"


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
        wait_until(self._web_ready, 60, f"{self.name} web /health")
        self.worker.ensure_alive()
        # A worker is ready when it has run tasks: this also warms imports, pools and caches.
        report = self.drive("noop", 20, 10, "warmup")
        if report.ok != 20:
            raise RuntimeError(
                f"{self.name} warm-up: {report.ok}/20 results\n{self.worker.log_tail()}"
            )

    def _web_ready(self) -> bool:
        self.web.ensure_alive()
        try:
            return httpx.get(f"{self.web_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for service in (self.web, self.worker, *self.extra_services):
            service.stop()


def celery_side(cfg: BenchConfig) -> Side:
    redis_url = cfg.redis_db_url(cfg.celery_redis_db)
    env = cfg.base_env() | {
        "BENCH_CELERY_REDIS_URL": redis_url,
        "BENCH_CELERY_DATABASE_URL": cfg.bench_db_url,
    }
    app = ["-A", "bench.celery_baseline.app"]
    processes = str(cfg.worker_processes)
    worker = Service(
        "celery worker",
        [
            *(cfg.python, "-m", "celery", *app, "worker"),
            *("--pool=prefork", f"--concurrency={processes}", "-Q", QUEUE),
            *("--loglevel=WARNING", "-n", "bench-celery@%h"),
            # Cluster chatter a single worker does not need, off as a tuned deployment has it.
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        env,
        cfg.tmp / "celery-worker.log",
        cfg.root,
    )
    port = free_port()
    web = Service(
        "celery web",
        [
            *(cfg.python, "-m", "uvicorn", "bench.celery_baseline.web:app"),
            *("--port", str(port), "--log-level", "warning"),
        ],
        env,
        cfg.tmp / "celery-web.log",
        cfg.root,
    )

    def make_beat(run_id: str) -> Service:
        schedule = cfg.tmp / "celerybeat-schedule"
        for stale in cfg.tmp.glob("celerybeat-schedule*"):
            stale.unlink()
        return Service(
            "celery beat",
            [cfg.python, "-m", "celery", *app, "beat", "-s", str(schedule), "--loglevel=WARNING"],
            env | {TICK_RUN_ID_ENV: run_id},
            cfg.tmp / "celery-beat.log",
            cfg.root,
        )

    def purge() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            client.delete(QUEUE)
        finally:
            client.close()

    return Side(
        name="celery",
        cfg=cfg,
        env=env,
        drive_module="bench.celery_baseline.drive",
        worker=worker,
        web=web,
        web_url=f"http://127.0.0.1:{port}",
        make_scheduler=make_beat,
        purge=purge,
        settings={
            "pool": f"prefork, concurrency {processes} (= processes)",
            "prefetch multiplier": "1",
            "acks_late": "True",
            "serializers": "JSON",
            "result_expires": "3600 s",
            "broker / results": f"Redis DB {cfg.celery_redis_db} (list queue, pub/sub results)",
            "DB": "per-child loop + create_async_engine(pool_pre_ping=True), pool 5+10",
            "worker flags": "--without-gossip --without-mingle --without-heartbeat",
            "W7 kicks": "apply_async(ignore_result=True) in a sync route",
            "W5": "celery beat, schedule=1.0 s",
        },
        connection_budget=cfg.worker_processes * 15,
    )
