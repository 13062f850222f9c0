"""PNG charts of a run (matplotlib, no display): grouped bars, one series per stack or phase."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the harness runs headless

import matplotlib.pyplot as plt

from bench.model import RunResults
from bench.report import PHASES
from bench.targets import CELERY, TASKIQ

__all__ = ["write_charts"]

COLOURS = {CELERY: "#a0a0a0", TASKIQ: "#2a7ab9"}


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
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series.items()):
        positions = [g + index * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = axes.bar(positions, heights, width, label=label, color=COLOURS.get(label))
        axes.bar_label(bars, labels=[_label(v) for v in values], fontsize=7)
    axes.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], groups)
    axes.set_yscale("log")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_charts(results: RunResults, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    stacks = [s for s in (CELERY, TASKIQ) if s in results.stacks]
    workloads = ["W1", "W2", "W3"]
    throughput = {
        stack: [
            t.throughput if (t := results.stacks[stack].round_trips.get(w)) else None
            for w in workloads
        ]
        + [results.stacks[stack].bulk_kicks_per_s]
        for stack in stacks
    }
    path = directory / "bench-throughput.png"
    if _bars(path, "Throughput (log scale)", [*workloads, "W7 kicks"], throughput, "per second"):
        written.append(path)

    latency = {
        f"{stack} {q}": [
            getattr(t.latency, q) * 1000
            if (t := results.stacks[stack].round_trips.get(w)) and t.latency
            else None
            for w in workloads
        ]
        for stack in stacks
        for q in ("p50", "p99")
    }
    path = directory / "bench-latency.png"
    if _bars(path, "Kick-to-result latency (log scale)", workloads, latency, "ms"):
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
    return written
