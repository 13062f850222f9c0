"""upload chunks and import checkpoints

The upload moves out of `imports.upload` into fixed-size rows of `import_upload_chunks`, so
neither the web process nor a worker holds a whole file; each import gets a checkpoint
(`bytes_done`, `lines_done`) and each order the line it came from (`import_line`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# core.imports.storage.CHUNK_BYTES when this migration was written; fixed here on purpose, a
# migration must not change when the code does.
CHUNK_BYTES = 1024 * 1024


def upgrade() -> None:
    op.create_table(
        "import_upload_chunks",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("import_id", "seq"),
    )
    # Existing uploads, cut into chunks by the server (no upload passes through Python).
    op.execute(
        sa.text(
            "INSERT INTO import_upload_chunks (import_id, seq, data)"
            " SELECT id, n, substring(upload FROM n * :size + 1 FOR :size)"
            " FROM imports, generate_series(0, (length(upload) - 1) / :size) AS n"
            " WHERE upload IS NOT NULL AND length(upload) > 0"
        ).bindparams(size=CHUNK_BYTES)
    )
    op.drop_column("imports", "upload")
    op.alter_column("imports", "upload_bytes", type_=sa.BigInteger())
    op.add_column(
        "imports",
        sa.Column("bytes_done", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "imports",
        sa.Column("lines_done", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("orders", sa.Column("import_line", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "import_line")
    op.drop_column("imports", "lines_done")
    op.drop_column("imports", "bytes_done")
    op.alter_column("imports", "upload_bytes", type_=sa.Integer())
    op.add_column("imports", sa.Column("upload", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE imports SET upload = (SELECT string_agg(data, ''::bytea ORDER BY seq)"
        " FROM import_upload_chunks WHERE import_id = imports.id)"
    )
    op.drop_table("import_upload_chunks")
