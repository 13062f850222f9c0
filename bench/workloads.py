"""W1 to W7: each runs on both stacks, one after the other, and records results and checks."""

import time
import uuid
from collections.abc import Sequence

import httpx

from bench import pg
from bench.drive import DriveReport
from bench.model import Check, RoundTrips, RunResults, TickResults
from bench.services import RssSampler, rss_by_role
from bench.sides import Side
from bench.stats import grid_lateness, rate, summarize

__all__ = ["bulk_enqueue", "idle_memory", "round_trips", "scheduler_ticks"]

DRIVE_WORKLOAD = {"W1": "noop", "W2": "sleep", "W3": "insert"}


def _run_id(workload: str) -> str:
    return f"{workload}-{uuid.uuid4().hex[:8]}"


def _trips(report: DriveReport) -> RoundTrips:
    return RoundTrips(
        kicked=report.kicked,
        ok=report.ok,
        failed=report.failed,
        wall_s=report.wall_s,
        throughput=rate(report.ok, report.wall_s),
        latency=summarize(report.latencies_s) if report.latencies_s else None,
    )


def _check_all_results(results: RunResults, label: str, report: DriveReport, n: int) -> None:
    results.checks.append(
        Check(
            f"{label}: every result collected",
            report.kicked == n and report.ok == n and report.failed == 0,
            f"kicked {report.kicked}, ok {report.ok}, failed {report.failed} of {n}",
        )
    )


def round_trips(results: RunResults, sides: Sequence[Side], workload: str) -> None:
    """W1/W2/W3: n tasks through each stack, `window` in flight, every result collected."""
    sizes = sides[0].cfg.sizes
    n = {"W1": sizes.w1_tasks, "W2": sizes.w2_tasks, "W3": sizes.w3_tasks}[workload]
    window = sizes.w2_window if workload == "W2" else sizes.window
    for side in sides:
        run_id = _run_id(workload)
        label = f"{workload} {side.name}"
        if workload == "W1":
            with RssSampler([side.worker, side.web, *side.extra_services]) as sampler:
                report = side.drive(DRIVE_WORKLOAD[workload], n, window, run_id)
            results.stacks[side.name].rss_w1 = sampler.peaks
        elif workload == "W3":
            with pg.ConnectionSampler(side.cfg.bench_db_url) as connections:
                report = side.drive(DRIVE_WORKLOAD[workload], n, window, run_id)
        else:
            report = side.drive(DRIVE_WORKLOAD[workload], n, window, run_id)
        _check_all_results(results, label, report, n)
        trips = _trips(report)
        if workload == "W3":
            written, distinct = pg.count_rows(side.cfg.bench_db_url, side.name, run_id)
            trips.peak_connections = connections.peak
            trips.rows_written = written
            results.checks.append(
                Check(
                    f"{label}: every row written once",
                    written == distinct == n,
                    f"{written} rows, {distinct} distinct, {n} tasks",
                )
            )
        results.stacks[side.name].round_trips[workload] = trips
        side.worker.ensure_alive()


def idle_memory(results: RunResults, sides: Sequence[Side]) -> None:
    """W6 (idle half): RSS of every long-running process after warm-up, nothing queued."""
    for side in sides:
        for service in (side.worker, side.web, *side.extra_services):
            results.stacks[side.name].rss_idle[service.name] = rss_by_role(service)


def scheduler_ticks(results: RunResults, sides: Sequence[Side]) -> None:
    """W5: both schedulers run a per-second schedule side by side; each tick stamps its start."""
    cfg = sides[0].cfg
    seconds = cfg.sizes.w5_seconds
    run_id = _run_id("W5")
    schedulers = {side.name: side.make_scheduler(run_id) for side in sides}
    try:
        for scheduler in schedulers.values():
            scheduler.start()
        # Count from each scheduler's first tick: start-up time is not precision.
        first: dict[str, float] = {}
        deadline = time.monotonic() + 90
        while len(first) < len(sides):
            for side in sides:
                schedulers[side.name].ensure_alive()
                times = pg.tick_times(cfg.bench_db_url, side.name, run_id)
                if times and side.name not in first:
                    first[side.name] = times[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no first tick from {set(schedulers) - set(first)}")
            time.sleep(0.2)
        time.sleep(seconds / 2)
        for side in sides:
            results.stacks[side.name].rss_idle["scheduler"] = rss_by_role(schedulers[side.name])
        time.sleep(seconds / 2 + 1.5)
    finally:
        for scheduler in schedulers.values():
            scheduler.stop()
    expected = int(seconds)
    for side in sides:
        times = [
            t
            for t in pg.tick_times(cfg.bench_db_url, side.name, run_id)
            if t < first[side.name] + seconds - 0.5
        ]
        lateness = grid_lateness(times, 1.0)
        results.stacks[side.name].ticks = TickResults(
            ticks=len(times), expected=expected, lateness=summarize(lateness) if lateness else None
        )
        results.checks.append(
            Check(
                f"W5 {side.name}: ticks arrive",
                len(times) >= max(1, expected // 2),
                f"{len(times)} ticks in {seconds:.0f} s",
            )
        )


def bulk_enqueue(results: RunResults, sides: Sequence[Side]) -> None:
    """W7: one request asks the web process to kick n tasks; kicks/s as the client sees it."""
    n = sides[0].cfg.sizes.w7_tasks
    for side in sides:
        started = time.perf_counter()
        response = httpx.post(f"{side.web_url}/bench/bulk", params={"n": n}, timeout=300)
        elapsed = time.perf_counter() - started
        body = response.json() if response.status_code == 200 else {}
        kicked = int(body.get("kicked", 0))
        results.checks.append(
            Check(
                f"W7 {side.name}: every task kicked",
                response.status_code == 200 and kicked == n,
                f"HTTP {response.status_code}, {kicked} of {n}",
            )
        )
        results.stacks[side.name].bulk_kicks_per_s = rate(kicked, elapsed) if kicked else None
        # The backlog would keep this stack's workers busy while the next one is measured.
        side.purge()
