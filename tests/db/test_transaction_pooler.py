"""DB_TRANSACTION_POOLER on real PostgreSQL: what a transaction pooler needs of asyncpg.

Behind PgBouncer in transaction mode, the server connection a transaction runs on is shared
with other clients: a statement prepared there must not outlive its query (the next client's
transaction would find it, or miss it), and its name must not be asyncpg's per-connection
counter (__asyncpg_stmt_1__...), which every client repeats.
"""

import re

import pytest
from sqlalchemy import text

from core.resources import create_engine
from core.settings import Settings

PREPARED = text("SELECT name FROM pg_prepared_statements ORDER BY name")


async def prepared_after_queries(settings: Settings) -> list[str]:
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    try:
        async with engine.connect() as conn:
            for value in range(5):
                assert (await conn.execute(text(f"SELECT {value}"))).scalar_one() == value
            return list((await conn.execute(PREPARED)).scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("pooler", [False, True])
async def test_statements_kept_on_the_server_connection(settings: Settings, pooler: bool) -> None:
    names = await prepared_after_queries(
        settings.model_copy(update={"db_transaction_pooler": pooler})
    )
    if pooler:
        # Only the statement running now, uniquely named: nothing left for the next client.
        (running,) = names
        assert running.startswith("__asyncpg_")
        assert "stmt" not in running
    else:
        # The default: cached statements stay, with the counter names every client reuses.
        assert len(names) > 5
        assert all(re.fullmatch(r"__asyncpg_stmt_[0-9a-f]+__", name) for name in names)


async def test_two_engines_never_share_a_statement_name(settings: Settings) -> None:
    pooled = settings.model_copy(update={"db_transaction_pooler": True})
    first, second = await prepared_after_queries(pooled), await prepared_after_queries(pooled)
    assert set(first).isdisjoint(second)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_TRANSACTION_POOLER", "true")
    assert Settings(_env_file=None).db_transaction_pooler is True
