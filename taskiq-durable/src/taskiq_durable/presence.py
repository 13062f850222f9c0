"""Worker presence: each worker child's heartbeat and the tasks it runs right now, with expiry.

Every worker child writes one JSON document, `config.key("workers", consumer)`, holding its
pid, host, queue, start time, the tasks it is running (id, name, since when), how many it
finished and failed, and its resident memory; written at every change (at most every
`MIN_WRITE_SECONDS`) and every heartbeat interval, with an expiry of one redelivery timeout:
the age at which reclaim, too, counts a child as dead. A child that crashes stops writing, and
its document, in-flight list included, is gone a redelivery timeout later; so `inspect active`
and `inspect workers` (and `/ready`'s live-worker check) tell the truth after a crash, while
the crashed child's messages wait in its pending entries to be reclaimed.

`workers_index` is a sorted set of consumers scored by the Redis server's clock, so the
inspector finds the documents without a SCAN; members older than the liveness are dropped.
Heartbeat times come from the server's clock too, so hosts need not agree on the time.
"""

import asyncio
import contextlib
import json
import logging
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq_redis import RedisStreamBroker

from taskiq_durable.config import DurableConfig
from taskiq_durable.streams.config import heartbeat_interval
from taskiq_durable.streams.reconnect import OUTAGE_ERRORS, Outage

__all__ = ["WorkerPresence", "live_workers", "workers_index"]

logger = logging.getLogger(__name__)

# A burst of task starts and ends is written once.
MIN_WRITE_SECONDS = 0.2

# KEYS[1]: the index, KEYS[2]: the document; ARGV: member, document, liveness in ms. The
# member's score, on the server's clock, is the heartbeat.
_WRITE = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now
"""


def workers_index(config: DurableConfig) -> str:
    return config.key("workers")


def _document_key(config: DurableConfig, consumer: str) -> str:
    return config.key("workers", consumer)


def _liveness_ms(config: DurableConfig) -> int:
    return max(1, round(config.redelivery_timeout_seconds * 1000))


def _rss_bytes() -> int:
    """Resident memory now (Linux), else the peak the kernel reports."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def live_workers(redis: Redis, config: DurableConfig) -> list[dict[str, Any]]:
    """The documents of the worker children alive now, each with `heartbeat_age` (seconds) and
    every running task's `running_for` (seconds), on the Redis server's clock."""
    # Plain commands, not a script: a script may touch only the keys it declares, and the
    # documents' names are read from the index. The server's time comes first, so ages are on
    # one clock; a document that expired between the two round trips is skipped.
    async with redis.pipeline(transaction=False) as pipe:
        pipe.time()
        pipe.zrange(workers_index(config), 0, -1, withscores=True)
        (seconds, micros), members = await pipe.execute()
    now = int(seconds) * 1000 + int(micros) // 1000
    names = [member.decode() if isinstance(member, bytes) else member for member, _ in members]
    raws = await redis.mget([_document_key(config, name) for name in names]) if names else []
    workers = []
    for (_, heartbeat), raw in zip(members, raws, strict=True):
        if raw is None:
            continue
        doc: dict[str, Any] = json.loads(raw)
        doc["heartbeat_age"] = round((int(now) - int(heartbeat)) / 1000, 3)
        for task in doc["running"]:
            # Its run time when the document was written, plus the time since.
            ran = doc["written_at"] - task["since"]
            task["running_for"] = round(ran + doc["heartbeat_age"], 3)
        workers.append(doc)
    return sorted(workers, key=lambda doc: (doc["queue"], doc["consumer"]))


@dataclass(slots=True)
class _Running:
    name: str
    since: float


@dataclass(slots=True)
class _State:
    running: dict[str, _Running] = field(default_factory=dict)
    done: int = 0
    failed: int = 0


class WorkerPresence(TaskiqMiddleware):
    """In a worker child: its heartbeat and in-flight tasks, kept in Redis until it stops."""

    def __init__(self, config: DurableConfig) -> None:
        super().__init__()
        self._config = config
        self._state = _State()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._redis: Redis | None = None
        self._consumer = ""
        self._started_at = 0.0

    async def startup(self) -> None:
        broker = self.broker
        if not (isinstance(broker, RedisStreamBroker) and broker.is_worker_process):
            return
        self._redis = Redis(connection_pool=broker.connection_pool)
        self._consumer = broker.consumer_name
        self._started_at = time.time()
        with contextlib.suppress(*OUTAGE_ERRORS):  # the loop retries, and says so
            await self._write()
        self._task = asyncio.create_task(self._run(), name="worker-presence")

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._redis is not None:
            # Gone at once, not a redelivery timeout later; if Redis is away, it expires.
            with contextlib.suppress(*OUTAGE_ERRORS):
                await self._redis.delete(_document_key(self._config, self._consumer))
                await self._redis.zrem(workers_index(self._config), self._consumer)

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self._state.running[message.task_id] = _Running(message.task_name, time.time())
        self._changed.set()
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        if self._state.running.pop(message.task_id, None) is not None:
            if result.is_err:
                self._state.failed += 1
            else:
                self._state.done += 1
        self._changed.set()

    def document(self) -> dict[str, Any]:
        now = time.time()
        return {
            "consumer": self._consumer,
            "queue": self._config.worker_queue,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": self._started_at,
            "written_at": now,
            "running": [
                {"task_id": task_id, "task_name": run.name, "since": run.since}
                for task_id, run in self._state.running.items()
            ],
            "done": self._state.done,
            "failed": self._state.failed,
            "rss_bytes": _rss_bytes(),
        }

    async def _write(self) -> None:
        if self._redis is None:
            return
        keys = (workers_index(self._config), _document_key(self._config, self._consumer))
        liveness = _liveness_ms(self._config)
        await self._redis.eval(
            _WRITE, 2, *keys, self._consumer, json.dumps(self.document()), liveness
        )

    async def _run(self) -> None:
        outage = Outage(logger, "worker presence")
        interval = heartbeat_interval(self._config.redelivery_timeout_seconds)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._changed.wait()
            self._changed.clear()
            try:
                await self._write()
            except OUTAGE_ERRORS as exc:
                outage.failed(exc)
            else:
                outage.succeeded()
            await asyncio.sleep(MIN_WRITE_SECONDS)
