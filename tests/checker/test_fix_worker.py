"""A task rewritten by --fix runs on a real `taskiq worker` against real Redis.

The fixture project is copied to a tmp dir, fixed in place with a broker module written there,
and `proj.tasks.arith` (bind/max_retries/time_limit/acks_late options, an async caller using
.delay()/.get()) is served by a worker subprocess. The test then calls the rewritten async
caller, which kicks the task and waits for its result."""

import importlib
import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from redis.asyncio import Redis

from migration_checker.cli import main
from tests.checker.conftest import FIXTURE

REDIS_URL = os.environ.get("CHECKER_REDIS_URL", "redis://127.0.0.1:6379")
TASKIQ = Path(sys.executable).parent / "taskiq"
RESULT_WAIT_SECONDS = 30

BROKER_MODULE = """from taskiq.serializers import JSONSerializer
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

broker = RedisStreamBroker({url!r}, queue_name={queue!r}).with_result_backend(
    RedisAsyncResultBackend({url!r}, serializer=JSONSerializer(), result_ex_time=600)
)
"""


@pytest.fixture
def fixed_project(tmp_path: Path) -> tuple[Path, str]:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    queue = f"checker-test-{uuid.uuid4().hex}"
    broker_module = f"tkbroker_{uuid.uuid4().hex[:8]}"
    (project / f"{broker_module}.py").write_text(BROKER_MODULE.format(url=REDIS_URL, queue=queue))
    argv = [str(project), "--fix", "--write", "--broker-import", f"{broker_module}:broker"]
    main(argv, out=io.StringIO())
    return project, broker_module


@pytest.fixture
def worker(fixed_project: tuple[Path, str]) -> Iterator[subprocess.Popen[bytes]]:
    project, broker_module = fixed_project
    process = subprocess.Popen(
        [str(TASKIQ), "worker", f"{broker_module}:broker", "proj.tasks.arith", "--workers", "1"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def rewritten_module(
    fixed_project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    project, broker_module = fixed_project
    monkeypatch.syspath_prepend(str(project))
    names = ("proj", "proj.tasks", "proj.tasks.arith", broker_module)
    try:
        yield importlib.import_module("proj.tasks.arith")
    finally:
        for name in names:
            sys.modules.pop(name, None)


@pytest.fixture
async def started_broker(rewritten_module: ModuleType) -> AsyncIterator[ModuleType]:
    broker = rewritten_module.broker
    await broker.startup()
    redis = Redis.from_url(REDIS_URL)
    try:
        yield rewritten_module
    finally:
        await broker.shutdown()
        await redis.delete(broker.queue_name)
        await redis.aclose()


async def test_rewritten_task_runs_on_a_real_worker(
    worker: subprocess.Popen[bytes], started_broker: ModuleType
) -> None:
    # add_and_wait kicks through .kiq() and waits through wait_result(timeout=10): bounded.
    result = await started_broker.add_and_wait(2, 3)
    assert result == 5
    assert worker.poll() is None
