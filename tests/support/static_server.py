"""A static HTTP server on 127.0.0.1 for tasks that download, recording what it was asked."""

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image


@dataclass
class StaticServer:
    url: str  # http://127.0.0.1:PORT
    paths: list[str] = field(default_factory=list)  # every path requested, in order


@contextmanager
def serve_images(root: Path) -> Iterator[StaticServer]:
    """Serves `root` holding a 640x480 `photo.png` and a `notes.txt` that is not an image."""
    root.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (640, 480), (200, 30, 30)).save(root / "photo.png")
    (root / "notes.txt").write_text("not an image")
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the test reads `paths`, not stderr

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaticServer(f"http://127.0.0.1:{server.server_address[1]}", requested)
    finally:
        server.shutdown()
        server.server_close()
