"""This stack as the harness runs it: the Procfile's own commands, isolated by settings.

Worker, web and scheduler are the Procfile lines run through a shell (as honcho does), with the
bench task module added to the worker's and scheduler's module list and the web app swapped for
`bench.taskiq_side.web:app` (the real app plus W7's route). Isolation uses the stack's settings:
its own database (`bench`, migrated by the real release step), Redis DB and key prefix.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from bench.config import BenchConfig, free_port
from bench.services import Service
from bench.sides import Side, procfile_command
from bench.taskiq_side import TICK_RUN_ID_ENV

__all__ = ["anti_pattern_web", "taskiq_side"]

NAME = "taskiq"
PREFIX = "bench"
TASK_MODULES = "tasks.registry"
BENCH_MODULE = "bench.taskiq_side.tasks"


def _with_bench_tasks(command: str) -> str:
    if f" {TASK_MODULES}" not in command:
        raise ValueError(f"Procfile command no longer loads {TASK_MODULES}: {command}")
    return command.replace(f" {TASK_MODULES}", f" {TASK_MODULES} {BENCH_MODULE}", 1)


def _shell(command: str) -> list[str]:
    # exec: the Procfile's process is the shell's pid, so SIGTERM reaches taskiq/uvicorn itself.
    return ["sh", "-c", f"exec {command}"]


def _env(cfg: BenchConfig) -> dict[str, str]:
    return cfg.base_env() | {
        "DATABASE_URL": cfg.bench_db_url,
        "REDIS_URL": cfg.redis_url_of(NAME),
        "REDIS_PREFIX": PREFIX,
        "WORKER_PROCESSES": str(cfg.worker_processes),
        "HOST": "127.0.0.1",
        # The Procfile names `taskiq` and `uvicorn`: this interpreter's.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        # The Procfile's `--max-async-tasks ${WORKER_CONCURRENCY:-100}`: the bench's slots.
        "WORKER_CONCURRENCY": str(cfg.concurrency),
    }


def _release(cfg: BenchConfig, env: dict[str, str]) -> None:
    """The real release step on the bench database: the worker waits for its schema."""
    subprocess.run(
        [cfg.python, "-m", "deploy.release"], env=env, cwd=cfg.root, check=True, timeout=120
    )


def _settings(cfg: BenchConfig, env: dict[str, str]) -> tuple[dict[str, str], int]:
    """The settings as the stack's processes read them (environment, then .env, then defaults)."""
    dumped = subprocess.run(
        [
            cfg.python,
            "-c",
            "from core.settings import Settings; print(Settings().model_dump_json())",
        ],
        env=env,
        cwd=cfg.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings = json.loads(dumped)
    # The Procfile's `--max-async-tasks ${WORKER_CONCURRENCY:-100}`, which the receiver uses.
    processes, concurrency = settings["worker_processes"], env["WORKER_CONCURRENCY"]
    pool, overflow = settings["db_pool_size"], settings["db_max_overflow"]
    shown = {
        "worker": f"{processes} processes × {concurrency} async tasks (WORKER_CONCURRENCY)",
        "pool per process": f"{pool}+{overflow}",
        "broker": f"the stack's StreamBroker, {env['REDIS_URL']}, prefix {PREFIX}",
        "results": f"the stack's ResultBackend, JSON, TTL {settings['result_ttl_seconds']} s",
        "client wait": "taskiq_durable.results.ResultWaiter: one MGET per 5–100 ms tick",
        "processes": "Procfile worker/web/scheduler commands + bench.taskiq_side.tasks",
        "W7 kicks": "await noop.kiq() in a loop, in an async route of the real app",
        "W5": "python -m scheduler (the Procfile's), LabelScheduleSource interval 1 s",
    }
    return shown, processes * (pool + overflow)


def taskiq_side(cfg: BenchConfig) -> Side:
    env = _env(cfg)
    _release(cfg, env)
    procfile = cfg.root / "Procfile"
    port = free_port()

    def make_worker(processes: int) -> Service:
        return Service(
            "taskiq worker",
            _shell(_with_bench_tasks(procfile_command(procfile, "worker"))),
            env | {"WORKER_PROCESSES": str(processes)},
            cfg.tmp / f"taskiq-worker-{processes}.log",
            cfg.root,
        )

    web_command = procfile_command(procfile, "web").replace(
        "app.main:app", "bench.taskiq_side.web:app", 1
    )
    web = Service(
        "taskiq web",
        _shell(web_command),
        env | {"PORT": str(port)},
        cfg.tmp / "taskiq-web.log",
        cfg.root,
    )

    def make_scheduler(run_id: str) -> Service:
        return Service(
            "taskiq scheduler",
            _shell(_with_bench_tasks(procfile_command(procfile, "scheduler"))),
            env | {TICK_RUN_ID_ENV: run_id},
            cfg.tmp / "taskiq-scheduler.log",
            cfg.root,
        )

    redis_url = env["REDIS_URL"]

    def wait_drained() -> None:
        # Nothing to delete: the stack's workers drain a backlog of no-ops in seconds, and
        # deleting a stream under live consumers is not something the stack is built for.
        client = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                groups = client.xinfo_groups(f"{PREFIX}:queue:default")
                if all(g["pending"] == 0 and not g.get("lag") for g in groups):
                    return
                time.sleep(0.2)
        finally:
            client.close()
        raise TimeoutError("the taskiq queue did not drain within 120 s")

    settings, budget = _settings(cfg, env)
    return Side(
        name=NAME,
        label="this stack",
        cfg=cfg,
        env=env,
        drive_module="bench.taskiq_side.drive",
        make_worker=make_worker,
        web=web,
        web_url=f"http://127.0.0.1:{port}",
        make_scheduler=make_scheduler,
        purge=wait_drained,
        settings=settings,
        connection_budget=budget,
    )


def anti_pattern_web(side: Side) -> tuple[Service, str]:
    """The anti-pattern app on a port of its own, with the side's settings."""
    port = free_port()
    command = procfile_command(side.cfg.root / "Procfile", "web").replace(
        "app.main:app", "bench.taskiq_side.antipattern:app", 1
    )
    service = Service(
        "anti-pattern web",
        _shell(command),
        side.env | {"PORT": str(port), TICK_RUN_ID_ENV: "anti-pattern"},
        side.cfg.tmp / "anti-pattern-web.log",
        side.cfg.root,
    )
    return service, f"http://127.0.0.1:{port}"
