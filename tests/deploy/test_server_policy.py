"""Where Redis and PostgreSQL come from: `plan_servers` is pure, probes are injected."""

from pathlib import Path

import pytest

from deploy.embedded import (
    LOCAL_DATABASE_URL,
    LOCAL_REDIS_URL,
    Choice,
    ServerPlan,
    ServerURLs,
    Source,
    plan_servers,
    resolve_servers,
)

DB = "postgresql+asyncpg://app@db.example:5432/app"
REDIS = "redis://cache.example:6379/1"
EMBEDDED = Choice(Source.EMBEDDED)
LOCAL_DB = Choice(Source.LOCAL, LOCAL_DATABASE_URL)
LOCAL_REDIS = Choice(Source.LOCAL, LOCAL_REDIS_URL)
ENV_DB = Choice(Source.ENVIRONMENT, DB)
ENV_REDIS = Choice(Source.ENVIRONMENT, REDIS)


@pytest.mark.parametrize(
    ("environ", "answering", "database", "redis"),
    [
        ({}, set(), EMBEDDED, EMBEDDED),
        ({}, {5432, 6379}, LOCAL_DB, LOCAL_REDIS),
        ({}, {6379}, EMBEDDED, LOCAL_REDIS),
        ({}, {5432}, LOCAL_DB, EMBEDDED),
        ({"DATABASE_URL": DB, "REDIS_URL": REDIS}, {5432, 6379}, ENV_DB, ENV_REDIS),
        ({"DATABASE_URL": DB}, set(), ENV_DB, EMBEDDED),
        ({"REDIS_URL": REDIS}, {5432}, LOCAL_DB, ENV_REDIS),
        ({"DATABASE_URL": ""}, {5432}, LOCAL_DB, EMBEDDED),
        ({"STACK_EMBEDDED": "1"}, {5432, 6379}, EMBEDDED, EMBEDDED),
        (
            {"STACK_EMBEDDED": "1", "DATABASE_URL": DB, "REDIS_URL": REDIS},
            {5432, 6379},
            EMBEDDED,
            EMBEDDED,
        ),
        ({"STACK_EMBEDDED": "0"}, {5432, 6379}, LOCAL_DB, LOCAL_REDIS),
    ],
)
def test_plan(
    environ: dict[str, str], answering: set[int], database: Choice, redis: Choice
) -> None:
    assert plan_servers(environ, answering.__contains__) == ServerPlan(database, redis)


def test_configured_urls_start_nothing_and_probe_nothing(tmp_path: Path) -> None:
    def no_probe(port: int) -> bool:
        raise AssertionError(f"probed port {port}")

    urls, embedded = resolve_servers(
        {"DATABASE_URL": DB, "REDIS_URL": REDIS}, tmp_path / "stack", no_probe
    )

    assert (urls, embedded) == (ServerURLs(database_url=DB, redis_url=REDIS), None)
    assert not (tmp_path / "stack").exists()
