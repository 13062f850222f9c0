from pathlib import Path

import pytest

from bench.config import BenchConfig
from bench.pg import database_url


@pytest.mark.parametrize(
    ("redis_url", "db", "expected"),
    [
        ("redis://127.0.0.1:6379", 14, "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/", 14, "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/0", 13, "redis://127.0.0.1:6379/13"),
        ("redis://:secret@cache:6380/2", 15, "redis://:secret@cache:6380/15"),
    ],
)
def test_redis_db_url(redis_url: str, db: int, expected: str) -> None:
    cfg = BenchConfig.from_env(False, ("W1",), Path("out"), {"REDIS_URL": redis_url})
    assert cfg.redis_db_url(db) == expected


@pytest.mark.parametrize(
    ("server_url", "expected"),
    [
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/bench",
        ),
        ("postgresql+asyncpg://u:pw@db/stack", "postgresql+asyncpg://u:pw@db/bench"),
    ],
)
def test_database_url(server_url: str, expected: str) -> None:
    assert database_url(server_url, "bench") == expected
