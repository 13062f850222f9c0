"""`uvicorn app.main:app`: the web process. Building the app opens nothing; the lifespan does."""

from fastapi import FastAPI

from app.errors import install_error_handlers
from app.lifespan import lifespan_for
from app.routes import dead_letters, health, imports, reports, revoke, schedules, tasks
from core.settings import Settings, get_settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="TaskIQ stack", lifespan=lifespan_for(settings))
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(imports.router)
    app.include_router(reports.router)
    app.include_router(tasks.router)
    # Control routes: the body is bounded before it is read (Content-Length first, then as it
    # streams), so an oversize one is refused without being buffered or parsed.
    for control in (revoke.router, dead_letters.router, schedules.router):
        app.include_router(control, max_body_size=settings.control_body_max_bytes)
    return app


# The web process's entry point: the one place it reads its settings.
app = create_app(get_settings())
