"""`uvicorn app.main:app`: the web process. Building the app opens nothing; the lifespan does."""

from fastapi import FastAPI

from app.lifespan import lifespan
from app.routes import dead_letters, health, imports, reports, revoke, schedules, tasks


def create_app() -> FastAPI:
    app = FastAPI(title="TaskIQ stack", lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(imports.router)
    app.include_router(reports.router)
    app.include_router(tasks.router)
    app.include_router(revoke.router)
    app.include_router(dead_letters.router)
    app.include_router(schedules.router)
    return app


app = create_app()
