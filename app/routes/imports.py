"""Order imports: upload a CSV, follow its progress, stream its status changes."""

import asyncio
import json
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select
from starlette.requests import ClientDisconnect
from taskiq_durable import kick_after_commit

from app.deps import ResourcesDep, SessionDep, SettingsDep
from app.errors import error_responses
from app.event_streams import EventStreams
from core.db.models import Import, ImportRejection, ImportStatus
from core.imports.csv_format import UploadError
from core.imports.run import status_payload
from core.imports.storage import CHUNK_BYTES, UploadTooLarge, store_upload
from tasks.imports import run_import_task

router = APIRouter(prefix="/imports", tags=["imports"])

REJECTIONS_SHOWN = 1000
# An event stream re-reads the database at least this often, so a lost notification (they are
# best effort) delays an update by this much at most.
EVENTS_REFRESH_SECONDS = 5.0
GZIP = ("gzip", "x-gzip")

# The upload is the raw request body, described here since no pydantic model reads it. Any
# Content-Type but a form is taken (curl --data-binary sends a form's type): the bytes decide.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The CSV file itself (UTF-8; columns order_id, customer, amount, currency,"
            " created_at), optionally with Content-Encoding: gzip."
        ),
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class ImportQueued(BaseModel):
    id: uuid.UUID
    task_id: str
    status: ImportStatus


class RejectionOut(BaseModel):
    line: int
    reason: str


class ImportOut(BaseModel):
    id: uuid.UUID
    status: ImportStatus
    rows_total: int  # rows read so far (all of them once finished), rejected ones included
    rows_done: int
    rows_rejected: int
    bytes_done: int  # of upload_bytes: the progress of a running import
    upload_bytes: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejections: list[RejectionOut]


async def upload_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives; 413 once it passes `limit` bytes as sent (the stored,
    decompressed size is `store_upload`'s to count), 415 for an unknown encoding or a form."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(limit)
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the CSV itself as the body (curl --data-binary @orders.csv), not a form",
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", *GZIP):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Encoding must be gzip or identity"
        )
    sent = 0
    try:
        async for data in request.stream():
            sent += len(data)
            if sent > limit:
                raise UploadTooLarge(limit)
            yield data
    except ClientDisconnect as exc:
        raise UploadError("the request body was cut short") from exc


async def gunzipped(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Undo gzip (several members too), `CHUNK_BYTES` of output at a time at most."""
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    fed = False
    try:
        async for data in body:
            while data or fed:
                fed = True
                out = inflate.decompress(data, CHUNK_BYTES)
                if out:
                    yield out
                if inflate.eof:
                    data, fed = inflate.unused_data, False
                    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                elif inflate.unconsumed_tail or len(out) == CHUNK_BYTES:
                    data = inflate.unconsumed_tail
                else:
                    break
    except zlib.error as exc:
        raise UploadError(f"the upload is not valid gzip ({exc})") from exc
    if fed:
        raise UploadError("the upload is not valid gzip (it ends inside a member)")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=UPLOAD_BODY,
    responses=error_responses(400, 413, 415),
)
async def create_import(
    request: Request, session: SessionDep, settings: SettingsDep
) -> ImportQueued:
    """Store the uploaded CSV and queue its import. The file is checked whole (UTF-8, not
    empty, a header with every column: 400) and stored as it arrives; rows are checked later,
    each bad one becoming a rejection of the import."""
    limit = settings.upload_max_bytes
    body = upload_body(request, limit)
    if request.headers.get("content-encoding", "").strip().lower() in GZIP:
        body = gunzipped(body)
    try:
        row = await store_upload(session, body, limit=limit)
    except UploadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except UploadTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    return await _kick(session, row)


@router.post(
    "/{import_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(404, 409),
)
async def resume_import(import_id: uuid.UUID, session: SessionDep) -> ImportQueued:
    """Queue a failed import again: it goes on from the first row it had not stored."""
    row = await session.get(Import, import_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {import_id} not found")
    if row.status is not ImportStatus.FAILED:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"import {import_id} is {row.status.value}: only a failed import is resumed",
        )
    row.status, row.task_id = ImportStatus.QUEUED, uuid.uuid4().hex
    return await _kick(session, row)


async def _kick(session: SessionDep, row: Import) -> ImportQueued:
    # The kick commits with the row (docs/patterns/transactions.md): no task before the row
    # exists, none lost after it. With Redis down the import waits in the outbox, and runs
    # when Redis is back.
    await kick_after_commit(session, run_import_task.kicker().with_task_id(row.task_id), row.id)
    await session.commit()
    return ImportQueued(id=row.id, task_id=row.task_id or "", status=row.status)


async def load_import(session: SessionDep, import_id: uuid.UUID) -> Import:
    row = await session.get(Import, import_id, populate_existing=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {import_id} not found")
    return row


@router.get("/{import_id}", responses=error_responses(404))
async def get_import(import_id: uuid.UUID, session: SessionDep) -> ImportOut:
    row = await load_import(session, import_id)
    rejections = await session.scalars(
        select(ImportRejection)
        .where(ImportRejection.import_id == import_id)
        .order_by(ImportRejection.line)
        .limit(REJECTIONS_SHOWN)
    )
    return ImportOut(
        id=row.id,
        status=row.status,
        rows_total=row.rows_total,
        rows_done=row.rows_done,
        rows_rejected=row.rows_rejected,
        bytes_done=row.bytes_done,
        upload_bytes=row.upload_bytes,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        rejections=[RejectionOut(line=r.line, reason=r.reason) for r in rejections],
    )


EVENTS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`event: status` with the import's status as JSON, until it finishes",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **error_responses(404),
}


@router.get("/{import_id}/events", response_class=StreamingResponse, responses=EVENTS_RESPONSE)
async def import_events(
    import_id: uuid.UUID, request: Request, resources: ResourcesDep
) -> StreamingResponse:
    """Server-Sent Events: the current status, then every change until the import finishes.

    A stream holds no connection while it waits (app/event_streams.py): a notification carries
    the status itself, and the row is read in a short session of its own only at the start and
    after `EVENTS_REFRESH_SECONDS` without one.
    """
    shared: EventStreams = request.app.state.event_streams

    async def current() -> dict[str, Any]:
        async with shared.reads, resources.sessionmaker() as fresh:
            return status_payload(await load_import(fresh, import_id))

    first = await current()  # 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        async with shared.listen(resources.settings.key("imports", str(import_id))) as queue:
            # Read again once listening: a change before that has no notification to come.
            payload, last = await current(), first
            yield f"event: status\ndata: {json.dumps(first)}\n\n"
            while True:
                if payload != last:
                    yield f"event: status\ndata: {json.dumps(payload)}\n\n"
                    last = payload
                if ImportStatus(payload["status"]).finished:
                    return
                payload = await _next_status(queue, str(import_id)) or await current()

    return StreamingResponse(events(), media_type="text/event-stream")


async def _next_status(queue: asyncio.Queue[bytes], import_id: str) -> dict[str, Any] | None:
    """The status the next notification carries; None after the refresh period without one:
    the caller then reads the row (notifications are best effort)."""
    deadline = asyncio.get_running_loop().time() + EVENTS_REFRESH_SECONDS
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            data = await asyncio.wait_for(queue.get(), left)
        except TimeoutError:
            return None
        if payload := _status_of(data, import_id):
            return payload
    return None


def _status_of(data: bytes, import_id: str) -> dict[str, Any] | None:
    """The import status a notification carries, or None when it is not one of this import."""
    try:
        payload = json.loads(data)
        ImportStatus(payload["status"])
    except (ValueError, TypeError, KeyError):
        return None
    return payload if isinstance(payload, dict) and payload.get("id") == import_id else None
