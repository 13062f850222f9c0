"""`uvicorn bench.celery_baseline.web:app`: the baseline's web process, for W7's bulk enqueue.

The route is sync, as Celery's client is: FastAPI runs it in its threadpool. Fire-and-forget
kicks use `ignore_result=True`, as the articles advise, so the web process subscribes to no
result channel.
"""

import time

from fastapi import FastAPI

from bench.celery_baseline.tasks import noop

__all__ = ["app"]

app = FastAPI(title="Celery baseline")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bench/bulk")
def bulk(n: int) -> dict[str, float]:
    started = time.perf_counter()
    for _ in range(n):
        noop.apply_async(ignore_result=True)
    return {"kicked": n, "seconds": time.perf_counter() - started}
