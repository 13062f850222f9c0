"""What the fault and soak tests share: the worker line with the fault tasks, kicking a load,
reading the end state in PostgreSQL, sampling memory, and printing one result line per fault.

The end state is the database's: `lost` counts jobs without their effect row, `duplicated`
effect rows beyond one per job (0 by design of an idempotent effect), `ran_twice` jobs whose
execution committed more than once (a kill between commit and acknowledgement).
"""

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Event, Thread

import asyncpg
import psutil
from redis import Redis as SyncRedis
from sqlalchemy.engine import make_url
from taskiq import AsyncBroker

from core.settings import Settings
from tests.faults.tasks_for_faults import MODULE, TABLES, effect
from tests.support.processes import StackProcess, wait_until, worker_command

# Per-task INFO lines cost a loaded 2-core machine more than the tasks do.
WORKER = f"{worker_command(MODULE)} --log-level WARNING"
# Small pools: several engineers share one PostgreSQL server.
SMALL_POOLS = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
# Kicks in flight at once from the test: fast enough for 50,000, gentle on a shared machine.
KICK_CONCURRENCY = 200
# The job id of the warm-up task, left out of every count (jobs are 0, 1, 2...).
WARM_UP = -1


def dsn(settings: Settings) -> str:
    url = make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class EndState:
    jobs: int
    stored: int  # distinct jobs with their effect
    effect_rows: int
    commit_rows: int
    committed_jobs: int

    @property
    def lost(self) -> int:
        return self.jobs - self.stored

    @property
    def duplicated(self) -> int:
        return self.effect_rows - self.stored

    @property
    def ran_twice(self) -> int:
        return self.commit_rows - self.committed_jobs


class Effects:
    """The fault tasks' tables in the test's database, read with a plain asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @staticmethod
    async def connect(settings: Settings) -> asyncpg.Connection:
        return await asyncpg.connect(dsn(settings))

    @classmethod
    async def create(cls, settings: Settings) -> "Effects":
        conn = await cls.connect(settings)
        for statement in TABLES:
            await conn.execute(statement)
        return cls(conn)

    async def count(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM fault_effects WHERE n >= 0"))

    async def warm_up(self, broker: AsyncBroker, *, within: float = 90) -> None:
        """Wait until a worker runs tasks (a child past its startup hooks): job WARM_UP done."""
        await effect.kicker().with_broker(broker).kiq(WARM_UP)
        deadline = time.monotonic() + within
        while not await self.conn.fetchval("SELECT 1 FROM fault_effects WHERE n = $1", WARM_UP):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within}s waiting for a worker")
            await asyncio.sleep(0.1)

    async def wait_at_most(self, jobs: int, seconds: float) -> int:
        """Poll until `jobs` effects are stored or `seconds` have passed; how many are."""
        deadline = time.monotonic() + seconds
        while True:
            done = await self.count()
            if done >= jobs or time.monotonic() >= deadline:
                return done
            await asyncio.sleep(0.2)

    async def wait_for(self, jobs: int, *, within: float, what: str) -> None:
        if (done := await self.wait_at_most(jobs, within)) < jobs:
            raise AssertionError(f"timed out after {within}s waiting for {what}: {done}")

    async def end_state(self, jobs: Iterable[int]) -> EndState:
        expected = list(jobs)
        row = await self.conn.fetchrow(
            """
            SELECT (SELECT count(DISTINCT n) FROM fault_effects WHERE n = ANY($1)) AS stored,
                   (SELECT count(*) FROM fault_effects WHERE n >= 0) AS effect_rows,
                   (SELECT count(*) FROM fault_commits WHERE n >= 0) AS commit_rows,
                   (SELECT count(DISTINCT n) FROM fault_commits WHERE n >= 0) AS committed_jobs
            """,
            expected,
        )
        assert row is not None
        counts = (row[key] for key in ("stored", "effect_rows", "commit_rows", "committed_jobs"))
        return EndState(len(expected), *(int(count) for count in counts))

    async def close(self) -> None:
        await self.conn.close()


async def kick(
    broker: AsyncBroker, jobs: Iterable[int], *, hold: float = 0.0, fail_first: bool = False
) -> int:
    """Kick `effect(n)` for every job, KICK_CONCURRENCY at a time; how many were kicked."""
    kicker = effect.kicker().with_broker(broker)
    semaphore = asyncio.Semaphore(KICK_CONCURRENCY)

    async def one(n: int) -> None:
        async with semaphore:
            await kicker.kiq(n, hold=hold, fail_first=fail_first)

    kicked = list(jobs)
    await asyncio.gather(*(one(n) for n in kicked))
    return len(kicked)


def pending(redis: SyncRedis, settings: Settings) -> int:
    """Messages delivered to a worker child and not acknowledged yet: the tasks in flight."""
    stream, group = settings.key("queue", "default"), settings.key("workers")
    return int(redis.xpending(stream, group)["pending"])


@dataclass
class MemorySampler:
    """RSS of every process of the given stack processes (children included), and Redis's
    used_memory, sampled every `every` seconds on a thread while inside `running()`."""

    processes: list[StackProcess]
    redis: SyncRedis
    every: float = 1.0
    rss_mb: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    redis_mb: list[tuple[float, float]] = field(default_factory=list)

    def sample(self) -> None:
        now = time.monotonic()
        for process in self.processes:
            for role, proc in self._members(process):
                try:
                    rss = proc.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
                self.rss_mb.setdefault(f"{process.name}:{role}", []).append((now, rss))
        used = int(self.redis.info("memory")["used_memory"])
        self.redis_mb.append((now, used / 2**20))

    @staticmethod
    def _members(process: StackProcess) -> Iterator[tuple[str, psutil.Process]]:
        try:
            main = psutil.Process(process.popen.pid)
        except psutil.NoSuchProcess:
            return
        yield "main", main
        # Keyed by position, not pid: a recycled or replaced child continues its series.
        for index, child in enumerate(sorted(process.children(), key=lambda c: c.pid)):
            yield f"child{index}", child

    @contextmanager
    def running(self) -> Iterator["MemorySampler"]:
        stop = Event()

        def loop() -> None:
            while not stop.wait(self.every):
                self.sample()

        thread = Thread(target=loop, daemon=True)
        self.sample()
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(10)

    def peaks(self) -> dict[str, float]:
        peaks = {name: max(mb for _, mb in series) for name, series in self.rss_mb.items()}
        return peaks | {"redis": max(mb for _, mb in self.redis_mb)}


def slope_mb_per_hour(series: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour."""
    n = len(series)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in series) / n
    mean_y = sum(y for _, y in series) / n
    spread = sum((t - mean_t) ** 2 for t, _ in series)
    if spread == 0:
        return 0.0
    return 3600 * sum((t - mean_t) * (y - mean_y) for t, y in series) / spread


def worker_children(worker: StackProcess) -> set[int]:
    """The worker's children (not their CPU-pool processes, which are started on demand)."""
    return {child.pid for child in psutil.Process(worker.popen.pid).children()}


def report(fault: str, **figures: object) -> None:
    """One line per fault, the figures docs/reliability.md's table is filled from (`pytest -s`)."""
    print(f"\nFAULT {fault}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


def group_state(redis: SyncRedis, stream: str, group: str) -> tuple[int, int]:
    """(pending, undelivered) of `group` on `stream`. Undelivered entries are counted, not read
    from XINFO's `lag`: Redis reports no lag (nil) after it reloaded the stream from its AOF."""
    (info,) = [g for g in redis.xinfo_groups(stream) if g["name"] == group]
    after = f"({info['last-delivered-id']}"
    return int(info["pending"]), len(redis.xrange(stream, after, "+") or [])


def wait_idle(redis: SyncRedis, settings: Settings, *, within: float) -> None:
    """Nothing pending and nothing undelivered on the default queue."""
    stream, group = settings.key("queue", "default"), settings.key("workers")

    def idle() -> bool:
        return group_state(redis, stream, group) == (0, 0)

    wait_until(idle, within=within, what="no pending, nothing undelivered")
