# syntax=docker/dockerfile:1
# One image, every role by command (deploy/container.py): web, worker, scheduler, release.
#   docker build -t taskiq-stack .
#   docker run --init taskiq-stack web        # or worker, scheduler, release; see docs/deploy.md
# Runtime dependencies only: uv.lock's [project] dependencies and the taskiq-durable library,
# none of the dev, bench or local (honcho, embedded servers) dependency groups.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# uv from its PyPI package, the version the Makefile installs; it stays in this stage.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
# Third-party dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
COPY taskiq-durable/pyproject.toml taskiq-durable/README.md taskiq-durable/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-default-groups --no-install-workspace --python /usr/local/bin/python3
# Then the library, installed as a wheel (not editable): the final stage has no source of it.
COPY taskiq-durable/ taskiq-durable/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-default-groups --no-editable --python /usr/local/bin/python3

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 stack \
    && useradd --system --uid 10001 --gid stack --home-dir /app --no-create-home stack
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# The stack's code and the files its processes read at run time (the Procfile: every role's
# command; alembic.ini and migrations/: the release step and the schema wait).
COPY Procfile alembic.ini ./
COPY migrations/ migrations/
COPY core/ core/
COPY app/ app/
COPY tasks/ tasks/
COPY scheduler/ scheduler/
COPY deploy/__init__.py deploy/container.py deploy/healthcheck.py deploy/release.py deploy/
# The image pipeline's files (MEDIA_DIR): mount a volume shared by every worker here.
RUN mkdir /app/media && chown stack:stack /app/media
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    MEDIA_DIR=/app/media
USER 10001:10001
EXPOSE 8000
# Docker acts on this (Compose's depends_on: service_healthy); Kubernetes has its own probes.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "deploy.healthcheck"]
ENTRYPOINT ["python", "-m", "deploy.container"]
CMD ["web"]
