"""The bench's own tables, in its own database: both stacks write the same kind of rows."""

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table

__all__ = ["metadata", "rows", "ticks"]

metadata = MetaData()

# W3: one row per task; (stack, run_id, seq) lets the harness prove every task wrote exactly once.
rows = Table(
    "bench_rows",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("stack", String(16), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
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
