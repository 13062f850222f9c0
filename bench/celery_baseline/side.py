"""The baseline as the harness runs it: worker, web and beat commands, settings, purge."""

import redis

from bench.celery_baseline.app import QUEUE, TICK_RUN_ID_ENV
from bench.config import BenchConfig, free_port
from bench.services import Service
from bench.sides import Side

__all__ = ["celery_side"]

NAME = "celery"


def celery_side(cfg: BenchConfig) -> Side:
    redis_url = cfg.redis_url_of(NAME)
    env = cfg.base_env() | {
        "BENCH_CELERY_REDIS_URL": redis_url,
        "BENCH_CELERY_DATABASE_URL": cfg.bench_db_url,
    }
    app = ["-A", "bench.celery_baseline.app"]
    processes = str(cfg.worker_processes)

    def make_worker(children: int) -> Service:
        return Service(
            "celery worker",
            [
                *(cfg.python, "-m", "celery", *app, "worker"),
                *("--pool=prefork", f"--concurrency={children}", "-Q", QUEUE),
                *("--loglevel=WARNING", "-n", "bench-celery@%h"),
                # Cluster chatter a single worker does not need, off as a tuned deployment has it.
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            env,
            cfg.tmp / f"celery-worker-{children}.log",
            cfg.root,
        )

    port = free_port()
    web = Service(
        "celery web",
        [
            *(cfg.python, "-m", "uvicorn", "bench.celery_baseline.web:app"),
            *("--port", str(port), "--log-level", "warning"),
        ],
        env,
        cfg.tmp / "celery-web.log",
        cfg.root,
    )

    def make_beat(run_id: str) -> Service:
        schedule = cfg.tmp / "celerybeat-schedule"
        for stale in cfg.tmp.glob("celerybeat-schedule*"):
            stale.unlink()
        return Service(
            "celery beat",
            [cfg.python, "-m", "celery", *app, "beat", "-s", str(schedule), "--loglevel=WARNING"],
            env | {TICK_RUN_ID_ENV: run_id},
            cfg.tmp / "celery-beat.log",
            cfg.root,
        )

    def purge() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            client.delete(QUEUE)
        finally:
            client.close()

    return Side(
        name=NAME,
        label="Celery",
        cfg=cfg,
        env=env,
        drive_module="bench.celery_baseline.drive",
        make_worker=make_worker,
        web=web,
        web_url=f"http://127.0.0.1:{port}",
        make_scheduler=make_beat,
        purge=purge,
        settings={
            "pool": f"prefork, concurrency {processes} (= processes)",
            "prefetch multiplier": "1",
            "acks_late": "True",
            "serializers": "JSON",
            "result_expires": "3600 s",
            "broker / results": f"Redis DB {cfg.redis_dbs[NAME]} (list queue, pub/sub results)",
            "DB": "per-child loop + create_async_engine(pool_pre_ping=True), pool 5+10",
            "worker flags": "--without-gossip --without-mingle --without-heartbeat",
            "W7 kicks": "apply_async(ignore_result=True) in a sync route",
            "W5": "celery beat, schedule=1.0 s",
        },
        connection_budget=cfg.worker_processes * 15,
    )
