"""The import stack under test: the real `web` and `worker` Procfile entries, small batches."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import OPERATOR_TOKEN, StartProcess
from tests.support.http import wait_healthy
from tests.support.processes import StackProcess, free_port

# Small batches: a bad row lands well after earlier batches are committed.
BATCH_SIZE = 50
UPLOAD_MAX_BYTES = 4_000_000
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class ImportStack:
    client: httpx.Client
    web: StackProcess
    worker: StackProcess


@pytest.fixture
def import_stack(start: StartProcess) -> Iterator[ImportStack]:
    port = free_port()
    env = {
        "PORT": str(port),
        "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
        "IMPORT_BATCH_SIZE": str(BATCH_SIZE),
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "2",
    }
    web = start("web", **env)
    worker = start("worker", WORKER_PROCESSES="1", **env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        wait_healthy(client, web)
        yield ImportStack(client, web, worker)
