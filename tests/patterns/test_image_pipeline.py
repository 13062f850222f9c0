"""The Celery tutorial's image pipeline on a real worker, downloading from a local HTTP server.

The server is on loopback, which the worker's HTTP client refuses by default (core/net.py;
tests/security/test_outgoing_http.py): these workers run with HTTP_ALLOW_PRIVATE=true.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from taskiq import AsyncBroker

from tasks.images import process_image
from tests.conftest import StartProcess
from tests.support.processes import procfile_commands
from tests.support.static_server import serve_images

WITHIN = 60.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A 640x480 PNG and a text file, served on 127.0.0.1; yields the base URL."""
    with serve_images(tmp_path / "www") as server:
        yield server.url


@pytest.mark.e2e
async def test_download_resize_store(
    start: StartProcess, client_broker: AsyncBroker, served: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    start(
        "worker",
        procfile_commands()["worker"],
        MEDIA_DIR=str(media),
        HTTP_ALLOW_PRIVATE="true",
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
