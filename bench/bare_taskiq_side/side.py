"""Bare TaskIQ as the harness runs it: `taskiq worker` with its default flags."""

from bench.config import BenchConfig
from bench.sides import Side, peer_side

__all__ = ["bare_taskiq_side"]


def bare_taskiq_side(cfg: BenchConfig) -> Side:
    def worker_argv(processes: int) -> list[str]:
        return [
            *(cfg.python, "-m", "taskiq", "worker", "bench.bare_taskiq_side.tasks:broker"),
            *("--workers", str(processes), "--max-async-tasks", str(cfg.concurrency)),
        ]

    return peer_side(
        cfg,
        "bare-taskiq",
        "bare TaskIQ",
        worker_argv,
        {
            "broker": "taskiq-redis RedisStreamBroker, RedisAsyncResultBackend (1 h), JSON",
            "acks": "when_saved (taskiq worker default); log level INFO (default)",
            "client wait": "AsyncTaskiqTask.wait_result() (polls every 0.2 s)",
            "DB session": "TaskiqDepends generator over WORKER_STARTUP's sessionmaker",
        },
    )
