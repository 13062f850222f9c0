"""The bench's own tables, in its own database: every stack writes the same kind of rows."""

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Insert,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

__all__ = ["insert_row", "insert_rows", "metadata", "rows", "ticks"]

metadata = MetaData()

# W3: one row per task; (stack, run_id, seq) lets the harness prove every task wrote exactly once.
# Unique, so a redelivered batch (W3b) is a no-op rather than duplicates: at-least-once delivery,
# exactly-once rows.
rows = Table(
    "bench_rows",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("stack", String(16), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    UniqueConstraint("stack", "run_id", "seq", name="bench_rows_once"),
)

# W5: one row per scheduler tick, stamped with the wall clock when the task started.
ticks = Table(
    "bench_ticks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("stack", String(16), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("started_at", Float, nullable=False),
)


def insert_row(stack: str, run_id: str, seq: int) -> Insert:
    """W3: the one-row INSERT a task per row runs (the seed pattern)."""
    return rows.insert().values(stack=stack, run_id=run_id, seq=seq)


def insert_rows(stack: str, run_id: str, first: int, count: int) -> Insert:
    """W3b: rows first..first+count-1 in one multi-row INSERT; rows already there are skipped."""
    values = [{"stack": stack, "run_id": run_id, "seq": seq} for seq in range(first, first + count)]
    return pg_insert(rows).values(values).on_conflict_do_nothing(constraint="bench_rows_once")
