import json

import pytest

from bench.drive import DriveArgs, DriveReport, Plan, read_report


def args(n: int = 10, window: int = 3, seconds: float | None = None) -> DriveArgs:
    return DriveArgs("noop", n, window, "run", seconds, timeout=60.0)


@pytest.mark.parametrize(
    ("plan_args", "kicked", "in_flight", "expected"),
    [
        (args(), 0, 0, True),
        (args(), 5, 2, True),
        (args(), 5, 3, False),  # window full
        (args(), 10, 0, False),  # all kicked
        (args(seconds=3600.0), 5, 0, True),
        (args(seconds=0.0), 5, 0, False),  # time is up
    ],
)
def test_plan_may_kick(plan_args: DriveArgs, kicked: int, in_flight: int, expected: bool) -> None:
    assert Plan(plan_args).may_kick(kicked, in_flight) is expected


def test_read_report_takes_the_last_json_line() -> None:
    report = DriveReport(kicked=2, ok=2, failed=0, wall_s=0.5, latencies_s=[0.1, 0.2])
    stdout = 'banner\n{"not": "this"}\n' + json.dumps(
        {"kicked": 2, "ok": 2, "failed": 0, "wall_s": 0.5, "latencies_s": [0.1, 0.2]}
    )
    assert read_report(stdout) == report


def test_read_report_without_report() -> None:
    with pytest.raises(ValueError, match="no report"):
        read_report("Traceback ...\n")
