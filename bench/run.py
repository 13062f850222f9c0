"""`python -m bench.run [--quick] [--only W1,W3] [--out bench/results]`: the whole benchmark.

Starts both stacks' processes on the same Redis and PostgreSQL, runs each selected workload on
one stack then the other, measures the Redis ceiling in the same run, and writes the JSON, the
charts and the markdown. Exits non-zero when any correctness check fails (a lost result, a
missing row, a dead process): `--quick` is the CI smoke test of the harness, with no thresholds.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import charts, meta, pg, report, targets, workloads
from bench.ceiling import measure_ceiling
from bench.celery_baseline.side import celery_side
from bench.config import ALL_WORKLOADS, ROOT, BenchConfig
from bench.model import Check, RunResults, StackResults
from bench.sides import Side, claim_redis_db
from bench.targets import TASKIQ
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
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    ns = parser.parse_args(argv)
    chosen = tuple(w.strip().upper() for w in ns.only.split(",") if w.strip())
    unknown = set(chosen) - set(ALL_WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {ALL_WORKLOADS}")
    return BenchConfig.from_env(ns.quick, chosen, ns.out.resolve(), env)


def build_sides(cfg: BenchConfig) -> list[Side]:
    return [celery_side(cfg), taskiq_side(cfg)]


def run_workloads(cfg: BenchConfig, results: RunResults, sides: list[Side]) -> None:
    for side in sides:
        side.start()
    workloads.idle_memory(results, sides)
    for workload in ("W1", "W2", "W3"):
        if workload in cfg.workloads:
            print(f"bench: {workload}", flush=True)
            workloads.round_trips(results, sides, workload)
    if "W5" in cfg.workloads:
        print("bench: W5", flush=True)
        workloads.scheduler_ticks(results, sides)
    if "W7" in cfg.workloads:
        print("bench: W7", flush=True)
        workloads.bulk_enqueue(results, sides)
    if "W4" in cfg.workloads:
        # Last: its anti-pattern phase stops the stack's worker.
        print("bench: W4", flush=True)
        workloads.web_latency(results, next(side for side in sides if side.name == TASKIQ))


def write_outputs(cfg: BenchConfig, results: RunResults) -> Path:
    verdicts = targets.evaluate(results)
    stamp = results.started_at.replace(":", "-")
    if cfg.quick or cfg.workloads != ALL_WORKLOADS:
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
        versions=meta.versions(cfg.redis_db_url(cfg.ceiling_redis_db), cfg.server_db_url),
    )
    pg.prepare_database(cfg.server_db_url, cfg.database)
    for db in (cfg.celery_redis_db, cfg.taskiq_redis_db, cfg.ceiling_redis_db):
        claim_redis_db(cfg.redis_db_url(db))
    sides = build_sides(cfg)
    for side in sides:
        results.stacks[side.name] = StackResults(side.settings, side.connection_budget)
    try:
        print("bench: Redis ceiling", flush=True)
        results.ceiling = measure_ceiling(
            cfg.redis_db_url(cfg.ceiling_redis_db),
            cfg.ceiling_redis_db,
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
