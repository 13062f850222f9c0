"""Machine and version facts recorded with every run, so numbers are read in context."""

import importlib.metadata
import os
import platform

import psutil
import redis

from bench import pg

__all__ = ["machine", "versions"]

PACKAGES = (
    "celery",
    "kombu",
    "taskiq",
    "taskiq-redis",
    "saq",
    "streaq",
    "coredis",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
    "redis",
    "uvloop",
    "orjson",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores",
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        # The cores may be shared: absolute numbers move with this, ratios less.
        "load average at start (1/5/15 min)": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(redis_url: str, db_url: str) -> dict[str, str]:
    client = redis.Redis.from_url(redis_url)
    try:
        redis_server = str(client.info("server")["redis_version"])
    finally:
        client.close()
    found = {package: _version(package) for package in PACKAGES}
    return found | {"Redis server": redis_server, "PostgreSQL server": pg.server_version(db_url)}
