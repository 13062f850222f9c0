import asyncio
import json

import pytest

from bench.drive import (
    KICKED,
    DriveArgs,
    DriveReport,
    Plan,
    Workload,
    drive_async,
    parse_args,
    read_report,
    task_call,
)


def args(
    n: int = 10,
    window: int = 3,
    seconds: float | None = None,
    workload: Workload = "noop",
    announce: bool = False,
) -> DriveArgs:
    return DriveArgs(workload, n, window, "run", seconds, timeout=60.0, announce=announce)


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


@pytest.mark.parametrize(
    ("workload", "seq", "expected"),
    [
        ("noop", 4, ("noop", {})),
        ("sleep", 4, ("sleep", {"seconds": 0.05})),
        ("insert", 4, ("insert_row", {"run_id": "run", "seq": 4})),
        # Task 4 of a batched run writes rows 400..499.
        ("insert_batch", 4, ("insert_rows", {"run_id": "run", "first": 400, "count": 100})),
    ],
)
def test_task_call(workload: Workload, seq: int, expected: tuple[str, dict[str, object]]) -> None:
    assert task_call(args(workload=workload), seq) == expected


def test_drive_async_kicks_everything_then_collects_every_result(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kicked: list[int] = []
    in_flight = 0
    most_in_flight = 0

    async def kick(seq: int) -> int:
        kicked.append(seq)
        return seq

    async def collect(seq: int) -> bool:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        if seq == 7:
            raise RuntimeError("lost")
        return seq % 5 != 0  # tasks 0 and 5 fail

    report = asyncio.run(drive_async(args(n=10, window=4, announce=True), kick, collect))
    assert kicked == list(range(10))
    assert (report.kicked, report.ok, report.failed) == (10, 7, 3)
    assert most_in_flight <= 4
    assert len(report.latencies_s) == 9  # the raised one has no latency
    assert report.first_result_s is not None
    assert report.last_result_s is not None
    assert report.first_result_s <= report.last_result_s <= report.wall_s
    assert capsys.readouterr().out.splitlines() == [KICKED]


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (DriveReport(ok=11, first_result_s=1.0, last_result_s=6.0), 2.0),
        (DriveReport(ok=1, first_result_s=1.0, last_result_s=1.0), None),
        (DriveReport(ok=5), None),
    ],
)
def test_drain_rate(report: DriveReport, expected: float | None) -> None:
    assert report.drain_rate() == expected


def test_parse_args_refuses_an_empty_window() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--workload", "noop", "--n", "5", "--window", "0", "--run-id", "r"])


def test_read_report_takes_the_last_json_line() -> None:
    report = DriveReport(kicked=2, ok=2, failed=0, wall_s=0.5, latencies_s=[0.1, 0.2])
    stdout = 'banner\n{"not": "this"}\n' + json.dumps(
        {"kicked": 2, "ok": 2, "failed": 0, "wall_s": 0.5, "latencies_s": [0.1, 0.2]}
    )
    assert read_report(stdout) == report


def test_read_report_without_report() -> None:
    with pytest.raises(ValueError, match="no report"):
        read_report("Traceback ...\n")
