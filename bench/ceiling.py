"""The Redis ceiling: how many tasks per second this Redis could carry on its own.

One task costs a fixed set of Redis commands (kick, fetch, ack, store result, read result).
Redis runs commands one at a time, so the time it spends per task is the sum of the per-command
times, and the ceiling is its inverse. Each command is measured with `redis-benchmark` in the
same run as the stacks; without it, with redis-py pipelines (faster than unpipelined commands,
so that ceiling is higher and the shares lower, which the report says).
"""

import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

__all__ = [
    "TASK_COMMANDS",
    "Ceiling",
    "ceiling_tasks_per_second",
    "measure_ceiling",
    "parse_benchmark_csv",
]

STREAM = "bench:ceiling:stream"
GROUP = "bench-ceiling"
RESULT_KEY = "bench:ceiling:result"
# Sized like a real kicked message and a stored result (a task id, name, labels, args).
MESSAGE = (
    '{"task_id":"'
    + "0" * 32
    + '","task_name":"bench.taskiq_side.tasks:noop",'
    + ('"labels":{},"labels_types":{},"args":[],"kwargs":{}}')
)
PIPELINE_DEPTH = 50
RESULT = '{"is_err":false,"log":null,"return_value":null,"execution_time":0.0001,"labels":{}}'

# name -> command, in the order they must run (XREADGROUP consumes what XADD wrote).
TASK_COMMANDS: Mapping[str, tuple[str, ...]] = {
    "XADD": ("XADD", STREAM, "*", "data", MESSAGE),
    "XREADGROUP": ("XREADGROUP", "GROUP", GROUP, "c1", "COUNT", "1", "STREAMS", STREAM, ">"),
    # Acking an id that is not pending still walks the PEL: close to the real cost.
    "XACK": ("XACK", STREAM, GROUP, "0-1"),
    "SET EX": ("SET", RESULT_KEY, RESULT, "EX", "3600"),
    "GET": ("GET", RESULT_KEY),
}


@dataclass(frozen=True, slots=True)
class Ceiling:
    method: str
    ops_per_second: dict[str, float]
    tasks_per_second: float


def ceiling_tasks_per_second(ops_per_second: Mapping[str, float]) -> float:
    """Tasks/s when every task costs one of each command and Redis does nothing else."""
    if not ops_per_second or any(ops <= 0.0 for ops in ops_per_second.values()):
        raise ValueError(f"every command needs a positive rate: {dict(ops_per_second)}")
    return 1.0 / sum(1.0 / ops for ops in ops_per_second.values())


def parse_benchmark_csv(text: str) -> float:
    """The requests/s of the single test in `redis-benchmark --csv` output.

    redis-benchmark does not escape quotes in the test name (the command line), so a row is
    read from the right: the last seven fields are numbers, the first of them is rps.
    """
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith('"test"')]
    if len(rows) != 1:
        raise ValueError(f"expected one redis-benchmark result, got {len(rows)}: {text!r}")
    fields = rows[0].rsplit(",", 7)
    if len(fields) != 8:
        raise ValueError(f"not a redis-benchmark CSV row: {rows[0]!r}")
    return float(fields[1].strip('"'))


def measure_ceiling(redis_url: str, db: int, requests: int, clients: int) -> Ceiling:
    client = redis.Redis.from_url(redis_url, db=db)
    try:
        client.delete(STREAM, RESULT_KEY)
        client.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
        executable = shutil.which("redis-benchmark")
        if executable is None:
            ops = {
                name: _pipelined_rate(client, cmd, requests) for name, cmd in TASK_COMMANDS.items()
            }
            method = f"redis-py pipelines of {PIPELINE_DEPTH} (redis-benchmark not on PATH)"
        else:
            url = urlsplit(redis_url)
            base = [
                executable,
                *("-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379)),
                *("--dbnum", str(db), "-n", str(requests), "-c", str(clients), "-P", "1", "--csv"),
            ]
            ops = {
                name: parse_benchmark_csv(
                    subprocess.run([*base, *cmd], capture_output=True, text=True, check=True).stdout
                )
                for name, cmd in TASK_COMMANDS.items()
            }
            method = f"redis-benchmark, {clients} clients, no pipelining, {requests} requests each"
        return Ceiling(method, ops, ceiling_tasks_per_second(ops))
    finally:
        client.delete(STREAM, RESULT_KEY)
        client.close()


def _pipelined_rate(client: "redis.Redis", command: tuple[str, ...], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(0, requests, PIPELINE_DEPTH):
        pipe = client.pipeline(transaction=False)
        for _ in range(PIPELINE_DEPTH):
            pipe.execute_command(*command)  # type: ignore[no-untyped-call]  # redis-py: untyped
        pipe.execute()
    return requests / (time.perf_counter() - started)
