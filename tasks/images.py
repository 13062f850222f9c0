"""The Celery tutorial's image pipeline: download -> resize -> store, as a chain.

    await process_image(broker, "https://example.com/cat.jpg", max_side=256)

- `images.download` fetches with the worker child's httpx client (bounded by IMAGE_MAX_BYTES)
  and keeps the original under MEDIA_DIR/originals/<sha256>: the message carries the digest,
  not the bytes. The client refuses URLs (and redirects) to loopback, private and link-local
  addresses unless HTTP_ALLOW_PRIVATE (core/net.py), so the URL in a message can't reach the
  stack's own servers. Not schedulable from the API (tasks/policy.py): a periodic download
  has no use, and the address is only checked when it runs.
- `images.resize` makes a PNG thumbnail (Pillow, in a thread: it is CPU work) and hands it on
  as base64 JSON, small by construction (`max_side` <= MAX_SIDE).
- `images.store` writes MEDIA_DIR/thumbnails/<sha256>-<w>x<h>.png and returns that path.
Every step is idempotent (content-addressed names, atomic replace), so a redelivery rewrites
the same bytes.
"""

import asyncio
import base64
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from taskiq import AsyncBroker, AsyncTaskiqTask, TaskiqDepends
from taskiq_durable.canvas import apply_chain, sig

from core.images import ImageError, make_thumbnail
from tasks.broker import broker
from tasks.deps import HttpClient, StackSettings

MAX_SIDE = 2048
DIGEST = re.compile(r"[0-9a-f]{64}")


class Thumbnail(BaseModel):
    digest: str
    width: int
    height: int
    png_base64: str


@broker.task(task_name="images.download")
async def download_image(
    url: str, http: HttpClient = TaskiqDepends(), settings: StackSettings = TaskiqDepends()
) -> str:
    limit = settings.image_max_bytes
    body = bytearray()
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise ImageError(f"{url} is larger than {limit} bytes")
    digest = hashlib.sha256(body).hexdigest()
    await asyncio.to_thread(_write_atomic, settings.media_dir / "originals" / digest, bytes(body))
    return digest


@broker.task(task_name="images.resize")
async def resize_image(
    digest: str, max_side: int = 256, settings: StackSettings = TaskiqDepends()
) -> Thumbnail:
    if not DIGEST.fullmatch(digest):
        raise ValueError(f"not an image digest: {digest!r}")
    if not 1 <= max_side <= MAX_SIDE:
        raise ValueError(f"max_side must be between 1 and {MAX_SIDE}, not {max_side}")
    original = settings.media_dir / "originals" / digest
    data = await asyncio.to_thread(original.read_bytes)
    png, width, height = await asyncio.to_thread(make_thumbnail, data, max_side)
    return Thumbnail(
        digest=digest, width=width, height=height, png_base64=base64.b64encode(png).decode()
    )


@broker.task(task_name="images.store")
async def store_thumbnail(thumbnail: Thumbnail, settings: StackSettings = TaskiqDepends()) -> str:
    if not DIGEST.fullmatch(thumbnail.digest):
        raise ValueError(f"not an image digest: {thumbnail.digest!r}")
    name = f"thumbnails/{thumbnail.digest}-{thumbnail.width}x{thumbnail.height}.png"
    data = base64.b64decode(thumbnail.png_base64, validate=True)
    await asyncio.to_thread(_write_atomic, settings.media_dir / name, data)
    return name


async def process_image(via: AsyncBroker, url: str, *, max_side: int = 256) -> AsyncTaskiqTask[Any]:
    """Kick the chain; the returned task's result is the stored thumbnail's path."""
    return await apply_chain(
        via,
        sig(download_image, url),
        sig(resize_image, max_side=max_side),
        sig(store_thumbnail),
    )


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a partial write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
