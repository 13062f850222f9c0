"""streaq as the harness runs it: `streaq run <module>:worker --workers N`."""

from bench.config import BenchConfig
from bench.sides import Side, peer_side

__all__ = ["streaq_side"]


def streaq_side(cfg: BenchConfig) -> Side:
    def worker_argv(processes: int) -> list[str]:
        return [
            *(cfg.python, "-m", "streaq", "run", "bench.streaq_side.tasks:worker"),
            *("--workers", str(processes)),
        ]

    return peer_side(
        cfg,
        "streaq",
        "streaq",
        worker_argv,
        {
            "broker": "Worker on Redis streams (coredis), JSON serializer, result ttl 5 min",
            "client wait": "await task.result(timeout) (a pub/sub subscription per task)",
            "logging": "INFO (the CLI's default: a line per task)",
        },
    )
