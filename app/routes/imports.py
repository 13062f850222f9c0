"""Order imports: upload a CSV, follow its progress, stream its status changes."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy import select
from taskiq.exceptions import SendTaskError

from app.deps import ResourcesDep, SessionDep, SettingsDep
from core.db.models import Import, ImportRejection, ImportStatus
from core.imports.csv_format import UploadError, decode_upload
from core.imports.run import status_payload
from tasks.imports import run_import_task

router = APIRouter(prefix="/imports", tags=["imports"])

REJECTIONS_SHOWN = 1000
# An event stream re-reads the database at least this often, so a lost notification (they are
# best effort) delays an update by this much at most.
EVENTS_REFRESH_SECONDS = 5.0


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
    rows_total: int
    rows_done: int
    rows_rejected: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejections: list[RejectionOut]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"upload over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"upload over {limit} bytes")
    return bytes(body)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_import(
    request: Request, session: SessionDep, settings: SettingsDep
) -> ImportQueued:
    body = await read_body(request, settings.upload_max_bytes)
    try:
        decode_upload(body)
    except UploadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    row = Import(upload=body, upload_bytes=len(body), task_id=uuid.uuid4().hex)
    session.add(row)
    # Committed before the kick: the worker must find the row however fast it picks the message.
    await session.commit()
    try:
        await run_import_task.kicker().with_task_id(row.task_id).kiq(row.id)
    except SendTaskError as exc:
        row.status, row.error = ImportStatus.FAILED, f"could not enqueue: {exc!r}"
        await session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "task queue unavailable") from exc
    return ImportQueued(id=row.id, task_id=row.task_id, status=row.status)


async def load_import(session: SessionDep, import_id: uuid.UUID) -> Import:
    row = await session.get(Import, import_id, populate_existing=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {import_id} not found")
    return row


@router.get("/{import_id}")
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
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        rejections=[RejectionOut(line=r.line, reason=r.reason) for r in rejections],
    )


@router.get("/{import_id}/events")
async def import_events(
    import_id: uuid.UUID, session: SessionDep, resources: ResourcesDep
) -> StreamingResponse:
    """Server-Sent Events: the current status, then every change until the import finishes."""
    await load_import(session, import_id)
    channel = resources.settings.key("imports", str(import_id))

    async def current() -> dict[str, Any]:
        async with resources.sessionmaker() as fresh:
            return status_payload(await load_import(fresh, import_id))

    async def events() -> AsyncIterator[str]:
        pubsub: PubSub | None = await _subscribe(resources.redis.pubsub(), channel)
        try:
            last: dict[str, Any] | None = None
            while True:
                payload = await current()
                if payload != last:
                    yield f"event: status\ndata: {json.dumps(payload)}\n\n"
                    last = payload
                if ImportStatus(payload["status"]).finished:
                    return
                await _next_notification(pubsub)
        finally:
            if pubsub is not None:
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    return StreamingResponse(events(), media_type="text/event-stream")


async def _subscribe(pubsub: PubSub, channel: str) -> PubSub | None:
    """The subscribed pubsub, or None when Redis refuses: the periodic re-read still reports."""
    try:
        await pubsub.subscribe(channel)
    except RedisError:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        return None
    return pubsub


async def _next_notification(pubsub: PubSub | None) -> None:
    """Wait for a notification, or for the refresh period when none comes (or Redis fails)."""
    if pubsub is None:
        await asyncio.sleep(EVENTS_REFRESH_SECONDS)
        return
    try:
        await pubsub.get_message(ignore_subscribe_messages=True, timeout=EVENTS_REFRESH_SECONDS)
    except RedisError:
        await asyncio.sleep(EVENTS_REFRESH_SECONDS)
