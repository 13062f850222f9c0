"""Which Redis and PostgreSQL the stack uses, and embedded ones from pip packages when needed.

Policy (`plan_servers`), per server and in this order:
1. `STACK_EMBEDDED=1`: embedded servers, whatever else is set;
2. `REDIS_URL` / `DATABASE_URL` from the environment;
3. a server already answering on 127.0.0.1:6379 / 127.0.0.1:5432 (database `stack` is created);
4. otherwise an embedded server: Valkey or PostgreSQL on a free 127.0.0.1 port, data under one
   folder (`.stack/`), ports remembered in it so the URLs stay the same across restarts.
"""

from __future__ import annotations

import enum
import fcntl
import json
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from deploy.postgres_server import PostgresServer, ensure_database
from deploy.server_process import ServerError
from deploy.valkey_server import ValkeyServer

__all__ = [
    "DATABASE",
    "LOCAL_DATABASE_URL",
    "LOCAL_REDIS_URL",
    "Choice",
    "EmbeddedServers",
    "ServerError",
    "ServerPlan",
    "ServerURLs",
    "Source",
    "local_port_answers",
    "plan_servers",
    "resolve_servers",
]

logger = logging.getLogger(__name__)

DATABASE = "stack"
LOCAL_POSTGRES_PORT = 5432
LOCAL_REDIS_PORT = 6379
LOCAL_DATABASE_URL = f"postgresql+asyncpg://postgres@127.0.0.1:{LOCAL_POSTGRES_PORT}/{DATABASE}"
LOCAL_REDIS_URL = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"


@dataclass(frozen=True)
class ServerURLs:
    database_url: str
    redis_url: str


class Source(enum.Enum):
    ENVIRONMENT = "from the environment"
    LOCAL = "already running on its default local port"
    EMBEDDED = "embedded"


@dataclass(frozen=True)
class Choice:
    source: Source
    url: str | None = None  # None for EMBEDDED: the port is known once the server runs


@dataclass(frozen=True)
class ServerPlan:
    database: Choice
    redis: Choice


def plan_servers(environ: Mapping[str, str], answers: Callable[[int], bool]) -> ServerPlan:
    """Decide where each server comes from; `answers(port)` probes 127.0.0.1:port."""
    if environ.get("STACK_EMBEDDED") == "1":
        return ServerPlan(Choice(Source.EMBEDDED), Choice(Source.EMBEDDED))
    return ServerPlan(
        database=_choose(
            environ.get("DATABASE_URL"), LOCAL_POSTGRES_PORT, LOCAL_DATABASE_URL, answers
        ),
        redis=_choose(environ.get("REDIS_URL"), LOCAL_REDIS_PORT, LOCAL_REDIS_URL, answers),
    )


def _choose(
    configured: str | None, local_port: int, local_url: str, answers: Callable[[int], bool]
) -> Choice:
    if configured:
        return Choice(Source.ENVIRONMENT, configured)
    if answers(local_port):
        return Choice(Source.LOCAL, local_url)
    return Choice(Source.EMBEDDED)


def local_port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def resolve_servers(
    environ: Mapping[str, str],
    data_dir: Path,
    answers: Callable[[int], bool] = local_port_answers,
) -> tuple[ServerURLs, EmbeddedServers | None]:
    """Apply the policy: the URLs to use, and the embedded servers started for them (or None).

    The caller owns the returned `EmbeddedServers` and must `stop()` it.
    """
    plan = plan_servers(environ, answers)
    if plan.database.source is Source.LOCAL:
        ensure_database(LOCAL_POSTGRES_PORT, DATABASE)
    embedded = None
    postgres = plan.database.source is Source.EMBEDDED
    redis = plan.redis.source is Source.EMBEDDED
    if postgres or redis:
        embedded = EmbeddedServers(data_dir)
        embedded.start_servers(postgres=postgres, redis=redis)
    urls = ServerURLs(
        database_url=plan.database.url or _embedded(embedded).database_url,
        redis_url=plan.redis.url or _embedded(embedded).redis_url,
    )
    logger.info("PostgreSQL %s: %s", plan.database.source.value, urls.database_url)
    logger.info("Redis %s: %s", plan.redis.source.value, urls.redis_url)
    return urls, embedded


def _embedded(embedded: EmbeddedServers | None) -> EmbeddedServers:
    assert embedded is not None, "the plan asked for an embedded server"
    return embedded


class EmbeddedServers:
    """Embedded PostgreSQL and/or Valkey with their data, logs and ports in `data_dir`.

    An exclusive lock on `data_dir/lock` is held while they run: a second owner of the same
    folder is refused, and servers found running without an owner (their owner was killed) are
    stopped before new ones start. `with EmbeddedServers(path) as servers:` starts and stops both.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._postgres: PostgresServer | None = None
        self._redis: ValkeyServer | None = None
        self._lock: IO[str] | None = None

    @property
    def database_url(self) -> str:
        if self._postgres is None:
            raise ServerError("embedded PostgreSQL is not running")
        return self._postgres.url(DATABASE)

    @property
    def redis_url(self) -> str:
        if self._redis is None:
            raise ServerError("embedded Redis is not running")
        return self._redis.url

    @property
    def urls(self) -> ServerURLs:
        return ServerURLs(database_url=self.database_url, redis_url=self.redis_url)

    @property
    def pids(self) -> list[int]:
        """Main process ids of the running servers (PostgreSQL forks helpers below its own)."""
        return [server.pid for server in (self._postgres, self._redis) if server is not None]

    def start(self) -> ServerURLs:
        """Start both servers."""
        self.start_servers(postgres=True, redis=True)
        return self.urls

    def start_servers(self, *, postgres: bool, redis: bool) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            # We hold the lock, so servers still running from this folder have no owner.
            PostgresServer.stop_leftover(self.data_dir / "pg")
            ValkeyServer.stop_leftover(self.data_dir / "redis")
            ports = _Ports(self.data_dir / "ports.json")
            if postgres:
                self._postgres = PostgresServer(
                    self.data_dir / "pg", ports.get("postgres"), self.data_dir / "pg.log"
                )
                self._postgres.start(DATABASE)
            if redis:
                self._redis = ValkeyServer(
                    self.data_dir / "redis", ports.get("redis"), self.data_dir / "redis.log"
                )
                self._redis.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        try:
            for server in (self._redis, self._postgres):
                if server is not None:
                    server.stop()
        finally:
            self._redis = self._postgres = None
            if self._lock is not None:
                self._lock.close()  # closing the file releases the flock
                self._lock = None

    def __enter__(self) -> EmbeddedServers:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _acquire_lock(self) -> None:
        lock = (self.data_dir / "lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock.close()
            raise ServerError(
                f"{self.data_dir} is in use by another process (another `make up` or test "
                "session?); stop it first"
            ) from exc
        self._lock = lock


class _Ports:
    """Ports chosen once and remembered in a JSON file, so URLs survive restarts."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._ports: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, name: str) -> int:
        port = self._ports.get(name)
        if port is None or not _is_free(port):
            if port is not None:
                logger.warning("port %d for embedded %s is taken: choosing another", port, name)
            port = _free_port()
            self._ports[name] = port
            self._path.write_text(json.dumps(self._ports, indent=2, sort_keys=True) + "\n")
        return port


def _is_free(port: int) -> bool:
    # SO_REUSEADDR as the servers themselves set it: a socket of the previous run still in
    # TIME_WAIT must not count as taken.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
