"""`python -m bench.run [--quick] [--only W1,W3] [--out bench/results]`: the whole benchmark.

Starts every stack's processes (this stack, bare TaskIQ, SAQ, streaq, the Celery baseline) on
the same Redis and PostgreSQL, runs each selected workload on one stack after the other,
measures the Redis ceiling in the same run, and writes the JSON, the charts and the markdown.
Exits non-zero when any correctness check fails (a lost result, a missing row, a dead
process): `--quick` is the CI smoke test of the harness, with no thresholds.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import charts, meta, pg, report, targets, workloads
from bench.bare_taskiq_side.side import bare_taskiq_side
from bench.ceiling import measure_ceiling
from bench.celery_baseline.side import celery_side
from bench.config import ALL_STACKS, ALL_WORKLOADS, ROOT, BenchConfig
from bench.model import Check, RunResults, StackResults
from bench.saq_side.side import saq_side
from bench.sides import Side, claim_redis_db
from bench.streaq_side.side import streaq_side
from bench.targets import CELERY, TASKIQ
from bench.taskiq_side.side import taskiq_side
from deploy.embedded import resolve_servers

__all__ = ["main"]

DOC = Path("docs/benchmarks.md")
IMAGES = Path("docs/img")


def server_env(environ: Mapping[str, str], stack: ExitStack) -> dict[str, str]:
    """The environment with REDIS_URL and DATABASE_URL resolved as `make up` resolves them:
    configured, else the local default ports, else embedded servers (stopped at the end)."""
    urls, embedded = resolve_servers(environ, ROOT / ".stack" / "bench")
    if embedded is not None:
        stack.callback(embedded.stop)
    return {**environ, "REDIS_URL": urls.redis_url, "DATABASE_URL": urls.database_url}


def parse_args(argv: Sequence[str] | None, env: Mapping[str, str]) -> BenchConfig:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, correctness only")
    parser.add_argument("--only", default=",".join(ALL_WORKLOADS), help="e.g. W1,W3")
    parser.add_argument("--stacks", default=",".join(ALL_STACKS), help="e.g. taskiq,saq")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    ns = parser.parse_args(argv)
    chosen = tuple(w.strip().upper() for w in ns.only.split(",") if w.strip())
    unknown = set(chosen) - set(ALL_WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {ALL_WORKLOADS}")
    stacks = tuple(s.strip().lower() for s in ns.stacks.split(",") if s.strip())
    if not stacks or set(stacks) - set(ALL_STACKS):
        parser.error(f"unknown stacks {sorted(set(stacks) - set(ALL_STACKS))}; from {ALL_STACKS}")
    try:
        return BenchConfig.from_env(ns.quick, chosen, ns.out.resolve(), env, stacks)
    except ValueError as exc:
        parser.error(str(exc))


BUILDERS: dict[str, Callable[[BenchConfig], Side]] = {
    TASKIQ: taskiq_side,
    "bare-taskiq": bare_taskiq_side,
    "saq": saq_side,
    "streaq": streaq_side,
    CELERY: celery_side,
}


def build_sides(cfg: BenchConfig) -> list[Side]:
    """Report order: this stack, the async peers, the Celery baseline."""
    return [build(cfg) for name, build in BUILDERS.items() if name in cfg.stacks]


def run_workloads(cfg: BenchConfig, results: RunResults, sides: list[Side]) -> None:
    for side in sides:
        print(f"bench: starting {side.label}", flush=True)
        side.start()
    workloads.idle_memory(results, sides)
    for workload in ("W1", "W2"):
        if workload in cfg.workloads:
            print(f"bench: {workload}", flush=True)
            workloads.round_trips(results, sides, workload)
    # The database workloads one stack at a time, each peer stopped after its own: every
    # worker process keeps its pool's connections, and five stacks' pools at once would pass
    # PostgreSQL's max_connections (100 by default) on a shared server.
    writes = [workload for workload in ("W3", "W3B") if workload in cfg.workloads]
    for side in sides if writes else []:
        for workload in writes:
            print(f"bench: {workload} {side.label}", flush=True)
            workloads.round_trips(results, [side], workload)
        if side.round_trips_only:
            side.stop()
    if "W5" in cfg.workloads:
        print("bench: W5", flush=True)
        workloads.scheduler_ticks(results, sides)
    if "W7" in cfg.workloads:
        print("bench: W7", flush=True)
        workloads.bulk_enqueue(results, sides)
    stack = next((side for side in sides if side.name == TASKIQ), None)
    if stack is not None and "W8" in cfg.workloads:
        print("bench: W8", flush=True)
        workloads.scaling(results, stack)
    if stack is not None and "W4" in cfg.workloads:
        # Last: its anti-pattern phase stops the stack's worker.
        print("bench: W4", flush=True)
        workloads.web_latency(results, stack)


def write_outputs(cfg: BenchConfig, results: RunResults) -> Path:
    verdicts = targets.evaluate(results)
    stamp = results.started_at.replace(":", "-")
    if cfg.quick or cfg.workloads != ALL_WORKLOADS or cfg.stacks != ALL_STACKS:
        # Smoke and partial runs exercise every writer but leave the committed report alone.
        kind = "quick" if cfg.quick else "partial"
        json_path = cfg.tmp / f"{stamp}-{kind}.json"
        doc_path, image_dir = cfg.tmp / "benchmarks.md", cfg.tmp / "img"
    else:
        json_path = cfg.out / f"{stamp}.json"
        doc_path, image_dir = cfg.root / DOC, cfg.root / IMAGES
    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = asdict(results) | {"targets": [asdict(v) for v in verdicts]}
    json_path.write_text(json.dumps(payload, indent=1) + "\n")
    images = charts.write_charts(results, image_dir)
    block = report.render(results, verdicts, [os.path.relpath(p, doc_path.parent) for p in images])
    existing = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n"
    doc_path.write_text(report.splice(existing, block))
    return json_path


def main(argv: Sequence[str] | None = None) -> int:
    with ExitStack() as servers:
        return run(parse_args(argv, server_env(os.environ, servers)))


def run(cfg: BenchConfig) -> int:
    cfg.tmp.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    results = RunResults(
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        quick=cfg.quick,
        machine=meta.machine(),
        versions=meta.versions(cfg.redis_url_of("ceiling"), cfg.server_db_url),
    )
    pg.prepare_database(cfg.server_db_url, cfg.database)
    for db in cfg.redis_dbs.values():
        claim_redis_db(cfg.redis_db_url(db))
    sides = build_sides(cfg)
    for side in sides:
        results.stacks[side.name] = StackResults(
            side.settings, side.connection_budget, label=side.label
        )
    try:
        print("bench: Redis ceiling", flush=True)
        results.ceiling = measure_ceiling(
            cfg.redis_url_of("ceiling"),
            cfg.redis_dbs["ceiling"],
            cfg.sizes.ceiling_requests,
            clients=50,
        )
        with ExitStack() as stack:
            for side in sides:
                stack.callback(side.stop)
            run_workloads(cfg, results, sides)
    except Exception as exc:  # noqa: BLE001  (a failed check: the JSON still shows what ran)
        results.checks.append(
            Check("harness ran to the end", False, f"{type(exc).__name__}: {exc}")
        )
    results.seconds = time.monotonic() - began
    path = write_outputs(cfg, results)
    failed = [check for check in results.checks if not check.ok]
    for check in failed:
        print(f"bench: FAILED {check.name}: {check.detail}", file=sys.stderr)
    print(
        f"bench: wrote {path} ({len(results.checks) - len(failed)}/{len(results.checks)} checks ok)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
