"""What one run does: server URLs, per-workload sizes, and the names that isolate the bench."""

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.pg import database_url

__all__ = ["ALL_WORKLOADS", "BenchConfig", "Sizes", "free_port"]

ROOT = Path(__file__).resolve().parent.parent
ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")


@dataclass(frozen=True, slots=True)
class Sizes:
    w1_tasks: int
    w2_tasks: int
    w3_tasks: int
    w4_requests: int
    w4_load_seconds: float
    w5_seconds: float
    w7_tasks: int
    ceiling_requests: int
    # Tasks kept in flight by a driver: above either stack's concurrency, so workers never starve.
    window: int
    w2_window: int


FULL = Sizes(
    w1_tasks=20_000,
    w2_tasks=2_000,
    w3_tasks=10_000,
    w4_requests=300,
    w4_load_seconds=40.0,
    w5_seconds=60.0,
    w7_tasks=10_000,
    ceiling_requests=100_000,
    window=200,
    w2_window=1_000,
)
QUICK = Sizes(
    w1_tasks=300,
    w2_tasks=60,
    w3_tasks=300,
    w4_requests=15,
    w4_load_seconds=8.0,
    w5_seconds=6.0,
    w7_tasks=300,
    ceiling_requests=5_000,
    window=50,
    w2_window=200,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class BenchConfig:
    quick: bool
    workloads: tuple[str, ...]
    sizes: Sizes
    redis_url: str
    server_db_url: str
    database: str
    worker_processes: int
    celery_redis_db: int
    taskiq_redis_db: int
    ceiling_redis_db: int
    out: Path
    tmp: Path
    python: str = sys.executable
    root: Path = ROOT

    @classmethod
    def from_env(
        cls, quick: bool, workloads: tuple[str, ...], out: Path, env: Mapping[str, str]
    ) -> "BenchConfig":
        return cls(
            quick=quick,
            workloads=workloads,
            sizes=QUICK if quick else FULL,
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/"),
            server_db_url=env.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"),
            database=env.get("BENCH_DATABASE", "bench"),
            worker_processes=int(env.get("BENCH_WORKER_PROCESSES", "2")),
            celery_redis_db=int(env.get("BENCH_CELERY_REDIS_DB", "14")),
            taskiq_redis_db=int(env.get("BENCH_TASKIQ_REDIS_DB", "13")),
            ceiling_redis_db=int(env.get("BENCH_CEILING_REDIS_DB", "15")),
            out=out,
            tmp=out / "tmp",
        )

    @property
    def bench_db_url(self) -> str:
        return database_url(self.server_db_url, self.database)

    def redis_db_url(self, db: int) -> str:
        base = self.redis_url
        # A URL that already names a database keeps host and credentials; the bench picks its own.
        head, _, tail = base.rpartition("/")
        if tail.isdigit() and head.count("/") >= 2:
            base = head
        return f"{base}/{db}"

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.root)
        env["PYTHONUNBUFFERED"] = "1"
        return env
