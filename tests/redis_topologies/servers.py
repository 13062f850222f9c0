"""Real Redis topologies on loopback ports: a Sentinel setup (one master, one replica, three
sentinels) from the same redis-server binary the other tests use."""

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from tests.delivery.throwaway_redis import redis_server_binary
from tests.support.processes import free_port, wait_until

MASTER_NAME = "mymaster"


@dataclass
class SentinelSetup:
    directory: Path
    data_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    sentinel_ports: tuple[int, ...] = field(
        default_factory=lambda: (free_port(), free_port(), free_port())
    )
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    @property
    def env(self) -> dict[str, str]:
        """What a stack process needs to find the master through the sentinels."""
        return {
            # The master's database; host and port come from the sentinels.
            "REDIS_URL": f"redis://127.0.0.1:{self.data_ports[0]}/0",
            "REDIS_MODE": "sentinel",
            "REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in self.sentinels),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            "REDIS_KICK_REPLICAS": "1",
        }

    def _spawn(self, name: str, *args: str) -> None:
        with (self.directory / f"{name}.log").open("ab") as log:
            self._processes.append(
                subprocess.Popen(
                    [redis_server_binary(), *args], stdout=log, stderr=subprocess.STDOUT
                )
            )

    def start(self) -> None:
        master, replica = self.data_ports
        common = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        self._spawn("master", "--port", str(master), *common, "--dir", str(self.directory))
        self._spawn(
            "replica",
            *("--port", str(replica), *common, "--dir", str(self.directory)),
            *("--replicaof", "127.0.0.1", str(master)),
        )
        for port in self.sentinel_ports:
            # A sentinel rewrites its configuration file, so each has its own.
            config = self.directory / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 2000\n"
                f"sentinel failover-timeout {MASTER_NAME} 10000\n"
            )
            self._spawn(f"sentinel-{port}", str(config), "--sentinel")
        wait_until(self._ready, within=60, what="sentinels see the replica and each other")

    def _ready(self) -> bool:
        try:
            for port in self.sentinel_ports:
                with SyncRedis(port=port) as sentinel:
                    replicas = sentinel.sentinel_slaves(MASTER_NAME)
                    if not any(r["master-link-status"] == "ok" for r in replicas):
                        return False
                    if len(sentinel.sentinel_sentinels(MASTER_NAME)) < 2:
                        return False
        except RedisError:
            return False
        return True

    def master_port(self) -> int:
        with SyncRedis(port=self.sentinel_ports[0]) as sentinel:
            _, port = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
            return int(port)

    def client(self) -> SyncRedis:
        """A client of the server that is master now."""
        return SyncRedis(port=self.master_port(), decode_responses=True)

    def failover(self) -> int:
        """SENTINEL FAILOVER; returns the new master's port once every sentinel agrees."""
        old = self.master_port()
        with SyncRedis(port=self.sentinel_ports[0]) as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
        new = next(port for port in self.data_ports if port != old)

        def moved() -> bool:
            for port in self.sentinel_ports:
                with SyncRedis(port=port) as sentinel:
                    _, now = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
                    if int(now) != new:
                        return False
            with SyncRedis(port=new) as promoted:
                return bool(promoted.info("replication")["role"] == "master")

        wait_until(moved, within=60, what="every sentinel names the new master")
        return new

    def stop(self) -> None:
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            process.wait(10)


@contextlib.contextmanager
def sentinel_setup(directory: Path) -> Iterator[SentinelSetup]:
    setup = SentinelSetup(directory)
    try:
        setup.start()
        yield setup
    finally:
        setup.stop()
