"""The Celery tutorial's image pipeline on a real worker, downloading from a local HTTP server."""

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from PIL import Image
from taskiq import AsyncBroker

from tasks.images import process_image
from tests.conftest import StartProcess
from tests.support.processes import procfile_commands

WITHIN = 60.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A 640x480 PNG and a text file, served on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(root / "photo.png")
    (root / "notes.txt").write_text("not an image")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.e2e
async def test_download_resize_store(
    start: StartProcess, client_broker: AsyncBroker, served: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    start(
        "worker",
        procfile_commands()["worker"],
        MEDIA_DIR=str(media),
        WORKER_PROCESSES="1",
        DB_POOL_SIZE="2",
        DB_MAX_OVERFLOW="2",
    )
    stored = await process_image(client_broker, f"{served}/photo.png", max_side=128)
    result = await stored.wait_result(timeout=WITHIN)
    assert not result.is_err, result.error
    path = media / result.return_value
    assert path.parent == media / "thumbnails"
    with Image.open(path) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("PNG", (128, 96))
    assert len(list((media / "originals").iterdir())) == 1

    # Bad input ends the chain with a clear error, at the step that found it.
    bad = await process_image(client_broker, f"{served}/notes.txt")
    failed = await bad.wait_result(timeout=WITHIN)
    assert failed.is_err
    assert str(failed.error).startswith("not a readable image")
    missing = await process_image(client_broker, f"{served}/missing.png")
    assert "404" in str((await missing.wait_result(timeout=WITHIN)).error)
    assert [p.name for p in (media / "thumbnails").iterdir()] == [path.name]
