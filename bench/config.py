"""What one run does: server URLs, per-workload sizes, and the names that isolate the bench."""

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.pg import database_url

__all__ = [
    "ALL_STACKS",
    "ALL_WORKLOADS",
    "REDIS_DBS",
    "BenchConfig",
    "Sizes",
    "env_int",
    "free_port",
    "redis_dbs",
]

ROOT = Path(__file__).resolve().parent.parent
# W3B: W3's rows written in batches (the write-heavy pattern); W8: W1 as the work grows.
ALL_WORKLOADS = ("W1", "W2", "W3", "W3B", "W4", "W5", "W6", "W7", "W8")

# Every stack a full run compares, in report order: this stack, the async peers, Celery.
ALL_STACKS = ("taskiq", "bare-taskiq", "saq", "streaq", "celery")

# Each stack (and the ceiling) gets a Redis database of its own: BENCH_<NAME>_REDIS_DB.
REDIS_DBS = {
    "streaq": 10,
    "saq": 11,
    "bare-taskiq": 12,
    "taskiq": 13,
    "celery": 14,
    "ceiling": 15,
}


@dataclass(frozen=True, slots=True)
class Sizes:
    w1_tasks: int
    w2_tasks: int
    w3_tasks: int
    # W3b: the same number of rows as W3, written by w3_rows / BATCH_ROWS tasks.
    w3b_rows: int
    w4_requests: int
    w4_load_seconds: float
    w5_seconds: float
    w7_tasks: int
    # W8: W1 at these worker process counts, then these backlogs queued before workers start.
    w8_processes: tuple[int, ...]
    w8_backlogs: tuple[int, ...]
    ceiling_requests: int
    # W4's background load keeps this many W2 tasks in flight: above every slot of the worker.
    w4_window: int


FULL = Sizes(
    w1_tasks=5_000,
    w2_tasks=2_000,
    w3_tasks=5_000,
    w3b_rows=5_000,
    w4_requests=300,
    w4_load_seconds=40.0,
    w5_seconds=60.0,
    w7_tasks=10_000,
    w8_processes=(1, 2, 4),
    w8_backlogs=(10_000, 100_000),
    ceiling_requests=100_000,
    w4_window=1_000,
)
QUICK = Sizes(
    w1_tasks=300,
    w2_tasks=60,
    w3_tasks=300,
    w3b_rows=300,
    w4_requests=15,
    w4_load_seconds=8.0,
    w5_seconds=6.0,
    w7_tasks=300,
    w8_processes=(1,),
    w8_backlogs=(300,),
    ceiling_requests=5_000,
    w4_window=200,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """An integer knob from the environment; anything else is a clear error, not a traceback."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name}={value} is below {minimum}")
    return value


def redis_dbs(env: Mapping[str, str]) -> dict[str, int]:
    """The Redis database of each stack and of the ceiling; two sharing one is refused."""
    dbs = {
        name: env_int(env, f"BENCH_{name.upper().replace('-', '_')}_REDIS_DB", default)
        for name, default in REDIS_DBS.items()
    }
    shared = {db for db in dbs.values() if list(dbs.values()).count(db) > 1}
    if shared:
        names = sorted(name for name, db in dbs.items() if db in shared)
        raise ValueError(f"Redis databases shared by {names}: give each its own BENCH_*_REDIS_DB")
    return dbs


@dataclass(frozen=True, slots=True)
class BenchConfig:
    quick: bool
    workloads: tuple[str, ...]
    sizes: Sizes
    redis_url: str
    server_db_url: str
    database: str
    worker_processes: int
    # Async slots per worker process, the same for every asyncio stack (Celery: one per child).
    concurrency: int
    redis_dbs: dict[str, int]
    out: Path
    tmp: Path
    stacks: tuple[str, ...] = ALL_STACKS
    python: str = sys.executable
    root: Path = ROOT

    @classmethod
    def from_env(
        cls,
        quick: bool,
        workloads: tuple[str, ...],
        out: Path,
        env: Mapping[str, str],
        stacks: tuple[str, ...] = ALL_STACKS,
    ) -> "BenchConfig":
        return cls(
            quick=quick,
            workloads=workloads,
            sizes=QUICK if quick else FULL,
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/"),
            server_db_url=env.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"),
            database=env.get("BENCH_DATABASE", "bench"),
            worker_processes=env_int(env, "BENCH_WORKER_PROCESSES", 2, minimum=1),
            concurrency=env_int(env, "BENCH_CONCURRENCY", 200, minimum=1),
            redis_dbs=redis_dbs(env),
            out=out,
            tmp=out / "tmp",
            stacks=stacks,
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

    def redis_url_of(self, name: str) -> str:
        """The Redis URL of one stack's (or the ceiling's) own database."""
        return self.redis_db_url(self.redis_dbs[name])

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.root)
        env["PYTHONUNBUFFERED"] = "1"
        return env
