"""Speed target of the migration checker: a 50,000-line Celery codebase in under 10 s.

Run: .venv/bin/python -m bench.checker_speed [--lines 50000] [--budget 10] [--path CHECKOUT]
Generates a synthetic project in a temporary folder (or takes a real checkout with --path, as
docs/checker.md does for saleor: `--path /tmp/saleor --budget 20`), scans it once, prints the
time and exits non-zero when the budget is exceeded. Peak memory: run it under
`/usr/bin/time -v`."""

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from migration_checker.cli import main as checker_main

__all__ = ["generate_project"]

_HEADER = """import asyncio

from celery import chain, group, shared_task
from celery.schedules import crontab

from synth.celery_app import app
from synth.db import engine
"""

_BLOCK = """

@app.task(bind=True, max_retries=3, autoretry_for=(ConnectionError,), queue="q{n}")
def task_{n}(self, x, y):
    try:
        return asyncio.get_event_loop().run_until_complete(asyncio.sleep(0, x + y))
    except ConnectionError as exc:
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)


@shared_task(time_limit=30, soft_time_limit=25, acks_late=True, rate_limit="5/s")
def other_{n}(items):
    data = {{"key": items}}
    total = 0
    for item in data.get("key", []):
        total += item
    return total


async def caller_{n}(x):
    first = task_{n}.delay(x, 1)
    result = await asyncio.sleep(0, first)
    return chain(task_{n}.s(x, 1), other_{n}.s()) | group(other_{n}.si([i]) for i in range(3))


def sync_caller_{n}(x):
    result = other_{n}.apply_async(([x],), countdown=5, queue="q{n}")
    return result.get(timeout=10)
"""

_APP = """from celery import Celery
from celery.schedules import crontab

app = Celery("synth", broker="redis://localhost:6379/0")
app.conf.task_acks_late = True
app.conf.beat_schedule = {
    "tick": {"task": "synth.mod_0.other_0", "schedule": crontab(minute="*/5")},
}
"""

_DB = """from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app", pool_size=20, max_overflow=10)
"""


def generate_project(root: Path, lines: int) -> int:
    """Write a synthetic Celery project of about `lines` lines; return the exact count."""
    package = root / "synth"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "celery_app.py").write_text(_APP)
    (package / "db.py").write_text(_DB)
    (root / "Procfile").write_text(
        "web: gunicorn synth.web:app -w 4\nworker: celery -A synth.celery_app worker -c 8\n"
    )
    written = _APP.count("\n") + _DB.count("\n") + 2
    module = 0
    while written < lines:
        blocks = [_BLOCK.format(n=module * 100 + i) for i in range(20)]
        text = _HEADER + "".join(blocks)
        (package / f"mod_{module}.py").write_text(text)
        written += text.count("\n")
        module += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds")
    parser.add_argument("--path", type=Path, help="scan this checkout instead of a generated one")
    args = parser.parse_args()
    if args.path is not None and not args.path.is_dir():
        parser.error(f"--path {args.path}: not a folder")
    with tempfile.TemporaryDirectory() as tmp:
        target = args.path or Path(tmp)
        lines = (
            generate_project(target, args.lines)
            if args.path is None
            else sum(p.read_bytes().count(b"\n") for p in target.rglob("*.py"))
        )
        report = io.StringIO()
        start = time.perf_counter()
        # The whole command as a user runs it: scan plus the human report.
        checker_main([str(target), "--fail-on", "never"], out=report)
        elapsed = time.perf_counter() - start
    verdict = "ok" if elapsed < args.budget else "TOO SLOW"
    print(
        f"{lines} lines, report of {report.getvalue().count(chr(10))} lines: "
        f"{elapsed:.2f} s (budget {args.budget:.0f} s) {verdict}"
    )
    return 0 if elapsed < args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
