"""Where an upload lives: fixed-size chunks in PostgreSQL, written and read one at a time.

The web process writes a request body as it arrives (`store_upload`), checking it whole-file on
the way; a worker reads it back from any byte offset (`read_chunks`), so resuming an import
starts at its checkpoint. Neither ever holds more than a chunk of it.
"""

import uuid
from collections.abc import AsyncIterable, AsyncIterator

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Import, ImportUploadChunk
from core.imports.csv_format import MAX_RECORD_BYTES, UploadCheck

# Every chunk but an upload's last has exactly this size, so an offset names its chunk.
CHUNK_BYTES = 1024 * 1024


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"upload over {limit} bytes")


async def store_upload(
    session: AsyncSession, body: AsyncIterable[bytes] | bytes, *, limit: int | None = None
) -> Import:
    """A new queued import holding `body`, checked (`UploadCheck`) while it is written; raises
    `UploadError` or `UploadTooLarge` as soon as the body is refused. The caller commits (or
    rolls back: then nothing of it was stored)."""
    row = Import(id=uuid.uuid4(), upload_bytes=0, task_id=uuid.uuid4().hex)
    session.add(row)
    await session.flush()
    check = UploadCheck()
    pending = bytearray()
    seq = 0
    async for data in _pieces(body):
        if limit is not None and check.size + len(data) > limit:
            raise UploadTooLarge(limit)
        check.feed(data)
        pending += data
        while len(pending) >= CHUNK_BYTES:
            await _write_chunk(session, row.id, seq, bytes(pending[:CHUNK_BYTES]))
            del pending[:CHUNK_BYTES]
            seq += 1
    check.finish()
    if pending:
        await _write_chunk(session, row.id, seq, bytes(pending))
    row.upload_bytes = check.size
    return row


async def _pieces(body: AsyncIterable[bytes] | bytes) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        yield body
        return
    async for data in body:
        if data:
            yield data


async def _write_chunk(session: AsyncSession, import_id: uuid.UUID, seq: int, data: bytes) -> None:
    await session.execute(insert(ImportUploadChunk).values(import_id=import_id, seq=seq, data=data))


async def read_chunks(session: AsyncSession, row: Import, *, start: int) -> AsyncIterator[bytes]:
    """The upload of `row` from byte `start` to its end, a chunk per query."""
    first = start // CHUNK_BYTES
    last = (row.upload_bytes - 1) // CHUNK_BYTES
    for seq in range(first, last + 1):
        data = await session.scalar(
            select(ImportUploadChunk.data).where(
                ImportUploadChunk.import_id == row.id, ImportUploadChunk.seq == seq
            )
        )
        if data is None:
            raise LookupError(f"import {row.id} has no stored upload (chunk {seq} is missing)")
        yield data[start - seq * CHUNK_BYTES :] if seq == first else data


async def read_head(session: AsyncSession, row: Import) -> bytes:
    """The first `MAX_RECORD_BYTES` + 1 bytes of the upload: enough to read its header."""
    head = bytearray()
    async for data in read_chunks(session, row, start=0):
        head += data[: MAX_RECORD_BYTES + 1 - len(head)]
        if len(head) > MAX_RECORD_BYTES:
            break
    return bytes(head)
