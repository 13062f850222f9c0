"""PNG charts of a run (matplotlib, no display): grouped bars, one series per stack or phase."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the harness runs headless

import matplotlib.pyplot as plt

from bench.model import RunResults
from bench.report import PHASES, label_of

__all__ = ["write_charts"]

COLOURS = {
    "this stack": "#2a7ab9",
    "bare TaskIQ": "#8fbf5a",
    "SAQ": "#e0a030",
    "streaq": "#b06ab3",
    "Celery": "#a0a0a0",
    "this stack p50": "#2a7ab9",
    "this stack p99": "#9cc3e4",
}
ROUND_TRIP_WORKLOADS = ("W1", "W2", "W3", "W3B")


def _label(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _bars(
    path: Path,
    title: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    ylabel: str,
) -> bool:
    """Draw and save; False (nothing written) when no bar has a positive height."""
    if not any(v for values in series.values() for v in values):
        return False
    figure, axes = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series.items()):
        positions = [g + index * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = axes.bar(positions, heights, width, label=label, color=COLOURS.get(label))
        axes.bar_label(bars, labels=[_label(v) for v in values], fontsize=6)
    axes.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], groups)
    axes.set_yscale("log")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _scaling_charts(results: RunResults, directory: Path) -> list[Path]:
    points = results.scaling
    if not points:
        return []
    groups = [
        f"{p.queued_before_start // 1000}k queued"
        if p.queued_before_start
        else f"{p.processes} proc."
        for p in points
    ]
    written = []
    path = directory / "bench-scaling-throughput.png"
    throughput = {"this stack": [p.throughput for p in points]}
    if _bars(path, "W8 no-op throughput as work grows (log scale)", groups, throughput, "tasks/s"):
        written.append(path)
    path = directory / "bench-scaling-memory.png"
    memory = {
        "worker RSS per process": [p.worker_rss_per_process_mb for p in points],
        "Redis used_memory growth": [p.redis_used_mb for p in points],
    }
    if _bars(path, "W8 memory as work grows (log scale)", groups, memory, "MB"):
        written.append(path)
    return written


def write_charts(results: RunResults, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    labels = {name: label_of(name, side) for name, side in results.stacks.items()}
    workloads = list(ROUND_TRIP_WORKLOADS)
    throughput = {
        labels[name]: [t.throughput if (t := side.round_trips.get(w)) else None for w in workloads]
        + [side.bulk_kicks_per_s]
        for name, side in results.stacks.items()
    }
    groups = ["W1", "W2", "W3", "W3b rows/s", "W7 kicks"]
    path = directory / "bench-throughput.png"
    if _bars(path, "Throughput (log scale)", groups, throughput, "per second"):
        written.append(path)

    latency = {
        f"{labels[name]} {q}" if q == "p99" else labels[name]: [
            getattr(t.latency, q) * 1000 if (t := side.round_trips.get(w)) and t.latency else None
            for w in workloads
        ]
        for name, side in results.stacks.items()
        for q in ("p50", "p99")
    }
    path = directory / "bench-latency.png"
    if _bars(path, "Kick-to-result latency, p50 and p99 (log scale)", groups[:4], latency, "ms"):
        written.append(path)

    if results.web is not None and results.web.by_route:
        routes = list(results.web.by_route)
        seen = {p for by_phase in results.web.by_route.values() for p in by_phase}
        phases = [p for p in PHASES if p in seen]
        web = {
            phase: [
                s.p99 * 1000 if (s := results.web.by_route[r].get(phase)) else None for r in routes
            ]
            for phase in phases
        }
        path = directory / "bench-web-p99.png"
        if _bars(path, "W4 web p99 latency (log scale)", routes, web, "ms"):
            written.append(path)
    return written + _scaling_charts(results, directory)
