"""W1 to W8: each runs on every stack that has what it needs, one stack after the other."""

import subprocess
import time
import uuid
from collections.abc import Sequence

import httpx

from bench import pg
from bench.drive import BATCH_ROWS, KICKED, DriveReport, read_report
from bench.model import Check, RoundTrips, RunResults, ScalePoint, TickResults, WebLatency
from bench.services import RedisMemorySampler, RssSampler, rss_by_role, wait_until
from bench.sides import Side, healthy
from bench.stats import Summary, grid_lateness, rate, summarize
from bench.targets import ANTI, IDLE, LOAD
from bench.taskiq_side.side import anti_pattern_web

__all__ = [
    "bulk_enqueue",
    "idle_memory",
    "round_trips",
    "scaling",
    "scheduler_ticks",
    "web_latency",
]

DRIVE_WORKLOAD = {"W1": "noop", "W2": "sleep", "W3": "insert", "W3B": "insert_batch"}


def _run_id(workload: str) -> str:
    return f"{workload}-{uuid.uuid4().hex[:8]}"


def _trips(report: DriveReport, per_task: int = 1) -> RoundTrips:
    """`per_task` > 1: throughput counts rows (W3b writes BATCH_ROWS rows per task)."""
    return RoundTrips(
        kicked=report.kicked,
        ok=report.ok,
        failed=report.failed,
        wall_s=report.wall_s,
        throughput=rate(report.ok * per_task, report.wall_s),
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


def tasks_for(workload: str, side: Side) -> int:
    """How many tasks a run of `workload` kicks (W3b: its rows over the rows per task)."""
    sizes = side.cfg.sizes
    if workload == "W3B":
        return -(-sizes.w3b_rows // BATCH_ROWS)
    return {"W1": sizes.w1_tasks, "W2": sizes.w2_tasks, "W3": sizes.w3_tasks}[workload]


def round_trips(results: RunResults, sides: Sequence[Side], workload: str) -> None:
    """W1/W2/W3/W3b: every task kicked, one after the other, then every result collected."""
    writes = workload in ("W3", "W3B")
    for side in sides:
        n = tasks_for(workload, side)
        run_id = _run_id(workload)
        label = f"{workload} {side.name}"
        if workload == "W1":
            with RssSampler(side.services()) as sampler:
                report = side.drive(DRIVE_WORKLOAD[workload], n, n, run_id)
            results.stacks[side.name].rss_w1 = sampler.peaks
        elif writes:
            with pg.ConnectionSampler(side.cfg.bench_db_url) as connections:
                report = side.drive(DRIVE_WORKLOAD[workload], n, n, run_id)
        else:
            report = side.drive(DRIVE_WORKLOAD[workload], n, n, run_id)
        _check_all_results(results, label, report, n)
        per_task = BATCH_ROWS if workload == "W3B" else 1
        trips = _trips(report, per_task)
        if writes:
            written, distinct = pg.count_rows(side.cfg.bench_db_url, side.name, run_id)
            trips.peak_connections = connections.peak
            trips.rows_written = written
            results.checks.append(
                Check(
                    f"{label}: every row written once",
                    written == distinct == n * per_task,
                    f"{written} rows, {distinct} distinct, {n * per_task} expected",
                )
            )
        results.stacks[side.name].round_trips[workload] = trips
        side.worker.ensure_alive()


def idle_memory(results: RunResults, sides: Sequence[Side]) -> None:
    """W6 (idle half): RSS of every long-running process after warm-up, nothing queued."""
    for side in sides:
        for service in side.services():
            results.stacks[side.name].rss_idle[service.name] = rss_by_role(service)


def scheduler_ticks(results: RunResults, sides: Sequence[Side]) -> None:
    """W5: the schedulers run a per-second schedule side by side; each tick stamps its start."""
    sides = [side for side in sides if side.make_scheduler is not None]
    if not sides:
        return
    cfg = sides[0].cfg
    seconds = cfg.sizes.w5_seconds
    run_id = _run_id("W5")
    schedulers = {
        side.name: side.make_scheduler(run_id) for side in sides if side.make_scheduler is not None
    }
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
    for side in sides:
        if side.web is None or side.purge is None:
            continue
        n = side.cfg.sizes.w7_tasks
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


# Ten orders: a real upload, small enough that the import it queues is no load of its own.
ORDERS_CSV = (
    "order_id,customer,amount,currency,created_at\n"
    + "".join(f"b{i},customer {i},{i}.50,EUR,2026-11-01T12:00:00\n" for i in range(10))
).encode()
ROUTES = ("GET /health", "POST /imports")


def _sample_routes(
    base_url: str, requests: int, results: RunResults, phase: str
) -> dict[str, Summary]:
    """Latency of each route, one request at a time (a user, not a load generator)."""
    latencies: dict[str, list[float]] = {route: [] for route in ROUTES}
    statuses: list[int] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(requests):
            for route in ROUTES:
                method, path = route.split(" ")
                started = time.perf_counter()
                response = client.request(
                    method, path, content=ORDERS_CSV if method == "POST" else None
                )
                latencies[route].append(time.perf_counter() - started)
                statuses.append(response.status_code)
    bad = [status for status in statuses if status >= 300]
    results.checks.append(
        Check(
            f"W4 {phase}: every request answered 2xx",
            not bad,
            f"{len(bad)} of {len(statuses)} not 2xx",
        )
    )
    return {route: summarize(values) for route, values in latencies.items()}


def _under_load(side: Side, seconds: float) -> "subprocess.Popen[str]":
    """W2 tasks kicked without pause for `seconds`: enough to keep every worker slot busy."""
    sizes = side.cfg.sizes
    argv = side.drive_argv("sleep", 10**9, sizes.w4_window, _run_id("W4"), seconds=seconds)
    return subprocess.Popen(
        argv, env=side.env, cwd=side.cfg.root, stdout=subprocess.PIPE, text=True
    )


def _measure_phases(
    side: Side,
    base_url: str,
    results: RunResults,
    phases: tuple[str, str],
    by_route: dict[str, dict[str, Summary]],
) -> None:
    sizes = side.cfg.sizes
    idle_phase, load_phase = phases
    for route, summary in _sample_routes(base_url, sizes.w4_requests, results, idle_phase).items():
        by_route.setdefault(route, {})[idle_phase] = summary
    load = _under_load(side, sizes.w4_load_seconds)
    try:
        time.sleep(2.0)  # let the backlog build before sampling
        sampled = _sample_routes(base_url, sizes.w4_requests, results, load_phase)
        covered = load.poll() is None
        # The driver stops kicking at its deadline and then collects what is in flight.
        stdout, _ = load.communicate(timeout=sizes.w4_load_seconds + 300)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    report = read_report(stdout)
    results.checks.append(
        Check(
            f"W4 {load_phase}: the load lasted the whole sampling and every task ran",
            covered and report.kicked > 0 and report.ok == report.kicked,
            f"load still running when sampling ended: {covered}; "
            f"{report.ok} of {report.kicked} tasks ok",
        )
    )
    for route, summary in sampled.items():
        by_route.setdefault(route, {})[load_phase] = summary


def web_latency(results: RunResults, side: Side) -> None:
    """W4: the stack's web idle and with its worker saturated, then the anti-pattern's."""
    by_route: dict[str, dict[str, Summary]] = {}
    _measure_phases(side, side.web_url, results, (IDLE, LOAD), by_route)
    if side.purge is not None:
        side.purge()
    # The anti-pattern's receiver must be the only consumer, so the stack's worker stops.
    side.worker.stop()
    anti, anti_url = anti_pattern_web(side)
    side.extra_services.append(anti)
    anti.start()
    wait_until(lambda: healthy(anti, anti_url), 60, "anti-pattern web /health")
    _measure_phases(side, anti_url, results, (f"{ANTI} idle", ANTI), by_route)
    anti.stop()
    results.web = WebLatency(by_route)


def _scale_point(
    processes: int,
    backlog: int,
    report: DriveReport,
    rss: dict[str, float],
    redis_growth_mb: float,
) -> ScalePoint:
    total = rss.get("main", 0.0) + rss.get("children", 0.0)
    drained = report.drain_rate() if backlog else None
    return ScalePoint(
        processes=processes,
        queued_before_start=backlog,
        tasks=report.ok,
        throughput=drained if drained is not None else rate(report.ok, report.wall_s),
        latency=summarize(report.latencies_s) if report.latencies_s else None,
        worker_rss_mb=total,
        worker_rss_per_process_mb=total / max(rss.get("processes", 1.0), 1.0),
        redis_used_mb=redis_growth_mb,
    )


def _drain_backlog(side: Side, backlog: int) -> tuple[DriveReport, dict[str, float]]:
    """Kick `backlog` no-ops with the worker stopped, then start it and collect every result;
    the report and the peak RSS of the worker that drained them."""
    cfg = side.cfg
    side.worker.stop()
    argv = side.drive_argv("noop", backlog, backlog, _run_id("W8"), announce=True)
    driver = subprocess.Popen(argv, env=side.env, cwd=cfg.root, stdout=subprocess.PIPE, text=True)
    try:
        if driver.stdout is None:
            raise RuntimeError("the driver's stdout is not a pipe")
        for line in driver.stdout:
            if line.strip() == KICKED:
                break
        else:
            raise RuntimeError(f"{side.name} driver exited before kicking {backlog} tasks")
        side.restart_worker(cfg.worker_processes, warm_up=False)
        with RssSampler([side.worker]) as rss:
            stdout, _ = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    if driver.returncode != 0:
        raise RuntimeError(f"{side.name} backlog driver failed ({driver.returncode})")
    return read_report(stdout), rss.peaks.get(side.worker.name, {})


def scaling(results: RunResults, side: Side) -> None:
    """W8: W1 at each process count, then backlogs queued before the workers start."""
    sizes, cfg = side.cfg.sizes, side.cfg
    redis_url = cfg.redis_url_of(side.name)
    try:
        for processes in sizes.w8_processes:
            side.restart_worker(processes)
            n = sizes.w1_tasks
            with RssSampler([side.worker]) as rss, RedisMemorySampler(redis_url) as memory:
                report = side.drive("noop", n, n, _run_id("W8"))
            _check_all_results(results, f"W8 {processes} processes", report, n)
            peaks = rss.peaks.get(side.worker.name, {})
            results.scaling.append(_scale_point(processes, 0, report, peaks, memory.growth_mb))
        for backlog in sizes.w8_backlogs:
            with RedisMemorySampler(redis_url) as memory:
                report, peaks = _drain_backlog(side, backlog)
            _check_all_results(results, f"W8 {backlog:,} queued", report, backlog)
            point = _scale_point(cfg.worker_processes, backlog, report, peaks, memory.growth_mb)
            results.scaling.append(point)
    finally:
        # The workloads after W8 expect the side as it started.
        side.restart_worker(cfg.worker_processes)
