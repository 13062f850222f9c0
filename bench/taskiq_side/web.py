"""`uvicorn bench.taskiq_side.web:app`: the stack's real web app plus one bench-only route.

The app has no route that kicks many tasks, so W7 adds `POST /bench/bulk` to the app built by
`app.main.create_app(settings)` (same lifespan, resources and broker); every other route is the
real one.
"""

import time

from app.main import create_app
from bench.taskiq_side.tasks import noop
from tasks.broker import settings

__all__ = ["app"]

app = create_app(settings)


@app.post("/bench/bulk")
async def bulk(n: int) -> dict[str, float]:
    started = time.perf_counter()
    for _ in range(n):
        await noop.kiq()
    return {"kicked": n, "seconds": time.perf_counter() - started}
