import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A data folder for embedded servers, outside pytest's tmp_path on purpose.

    As root, PostgreSQL runs as another user that must be able to enter the folder's parents;
    every pytest session that starts resets /tmp/pytest-of-root to 0700, which would cut off a
    server of a session already running.
    """
    parent = Path(tempfile.mkdtemp(prefix="stack-test-"))
    try:
        yield parent / "stack"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
