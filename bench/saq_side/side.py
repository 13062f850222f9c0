"""SAQ as the harness runs it: N `saq <settings>` processes, one shell stopping them together.

Not SAQ's own `--workers N`: its forked processes stalled jobs on this machine (40 one-row
inserts took 46 to 60 s, against about 1 s for two `saq` processes started side by side), and the
two are the same thing otherwise, N copies of one worker on one queue.
"""

import shlex

from bench.config import BenchConfig
from bench.sides import Side, peer_side

__all__ = ["saq_side"]


def saq_side(cfg: BenchConfig) -> Side:
    def worker_argv(processes: int) -> list[str]:
        one = shlex.join([cfg.python, "-m", "saq", "bench.saq_side.tasks.settings"])
        # SIGTERM to the shell reaches every worker (its process group): each shuts down as
        # SAQ does on SIGTERM, then the shell exits.
        started = " & ".join([one] * processes)
        return ["sh", "-c", f'trap "kill 0" TERM; {started} & wait']

    return peer_side(
        cfg,
        "saq",
        "SAQ",
        worker_argv,
        {
            "processes": "N `saq` processes side by side (not `--workers N`: see bench/saq_side)",
            "queue": "Queue.from_url (Redis lists, Lua enqueue), JSON, job ttl 600 s, timeout 10 s",
            "client wait": "job.refresh(until_complete=0.5) until done, over one pub/sub",
            "logging": "WARNING (the CLI's default); redis-py without hiredis, as every stack",
        },
    )
