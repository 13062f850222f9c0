"""Pure parts of results, calling, canvas and images, as tables."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from taskiq import TaskiqMessage, TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.exceptions import NoResultError
from taskiq.formatters.json_formatter import JSONFormatter
from taskiq_durable.calling import apply_async, kick_labels
from taskiq_durable.canvas import Signature, batched
from taskiq_durable.dead_letters.letters import TaskDeadLettered
from taskiq_durable.delayed import relabel, wire_form
from taskiq_durable.expiry import TaskExpired, expires_at, expiry_error
from taskiq_durable.labels import label_flag, parse_flag
from taskiq_durable.lifecycle import check_flags, retry_pending, tracks_started
from taskiq_durable.status import ErrorInfo, task_state

from core.images import thumbnail_size
from core.settings import Settings

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def _result(error: BaseException | None) -> TaskiqResult[Any]:
    return TaskiqResult(is_err=error is not None, return_value=1, execution_time=0, error=error)


def _progress(state: str | TaskState) -> TaskProgress[Any]:
    return TaskProgress(state=state, meta=None)


@pytest.mark.parametrize(
    ("result", "progress", "revoked", "state"),
    [
        (None, None, False, "PENDING"),
        (None, _progress(TaskState.STARTED), False, "STARTED"),
        (None, _progress(TaskState.RETRY), False, "RETRY"),
        (None, _progress("PROGRESS"), False, "PROGRESS"),
        (_result(None), _progress(TaskState.STARTED), False, "SUCCESS"),
        (_result(ValueError("x")), None, False, "FAILURE"),
        (_result(TaskExpired("late")), _progress(TaskState.STARTED), False, "REVOKED"),
        (None, _progress(TaskState.STARTED), True, "REVOKED"),
        (_result(None), None, True, "SUCCESS"),
        (_result(type("TaskRevoked", (BaseException,), {})("t1")), None, False, "REVOKED"),
        (_result(TaskDeadLettered("bad_arguments", "no")), None, False, "DEAD_LETTERED"),
        # As a process without the class rebuilds it: by name, with its args.
        (
            _result(type("TaskDeadLettered", (Exception,), {})("poison", "x")),
            None,
            True,
            "DEAD_LETTERED",
        ),
    ],
)
def test_task_state(
    result: TaskiqResult[Any] | None, progress: TaskProgress[Any] | None, revoked: bool, state: str
) -> None:
    assert task_state(result, progress, revoked=revoked) == state


@pytest.mark.parametrize(
    "error",
    [
        TaskDeadLettered("unknown_task", "no task named 'x'"),
        type("TaskDeadLettered", (Exception,), {})("unknown_task", "no task named 'x'"),
    ],
)
def test_a_dead_lettered_error_names_its_reason(error: Exception) -> None:
    assert ErrorInfo.of(_result(error)) == ErrorInfo(
        type="TaskDeadLettered", message="no task named 'x'", dead_letter="unknown_task"
    )


def test_a_failure_names_its_dead_letter_reason_from_the_result_labels() -> None:
    result = _result(ValueError("x"))
    assert ErrorInfo.of(result) == ErrorInfo(type="ValueError", message="x")
    result.labels = {"dead_letter": "exhausted"}
    assert ErrorInfo.of(result) == ErrorInfo(
        type="ValueError", message="x", dead_letter="exhausted"
    )


@pytest.mark.parametrize(
    ("expires", "deadline"),
    [
        (30, NOW.timestamp() + 30),
        (0.5, NOW.timestamp() + 0.5),
        (timedelta(minutes=2), NOW.timestamp() + 120),
        (NOW + timedelta(hours=1), NOW.timestamp() + 3600),
        (datetime(2026, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), NOW.timestamp()),
    ],
)
def test_expires_at(expires: float | timedelta | datetime, deadline: float) -> None:
    assert expires_at(expires, NOW) == deadline


def test_expires_at_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expires_at(datetime(2026, 11, 1, 12, 0), NOW)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("labels", "now", "expired"),
    [
        ({}, 1e12, False),
        ({"expires_at": 100.0}, 99.9, False),
        ({"expires_at": 100.0}, 100.0, True),
        ({"expires_at": "100.0"}, 150.0, True),  # re-sent as a string by taskiq-pipelines
    ],
)
def test_expiry_error(labels: dict[str, Any], now: float, expired: bool) -> None:
    assert isinstance(expiry_error(labels, now), TaskExpired) is expired


def test_kick_labels() -> None:
    settings = Settings(redis_prefix="p")
    link = Signature("test.record", kwargs={"name": "ok"})
    labels = kick_labels(now=NOW, config=settings.durable(), expires=10, queue="urgent", link=link)
    assert labels == {
        "expires_at": NOW.timestamp() + 10,
        "queue_name": "p:queue:urgent",
        "canvas_link": (
            '{"task_name":"test.record","args":[],"kwargs":{"name":"ok"},"labels":{},'
            '"immutable":false}'
        ),
    }
    assert kick_labels(now=NOW, config=settings.durable()) == {}


@pytest.mark.parametrize(
    ("items", "size", "batches"),
    [
        ([], 3, []),
        ([1, 2], 3, [[1, 2]]),
        ([1, 2, 3], 3, [[1, 2, 3]]),
        ([1, 2, 3, 4, 5, 6, 7], 3, [[1, 2, 3], [4, 5, 6], [7]]),
        ([1, 2], 1, [[1], [2]]),
    ],
)
def test_batched(items: list[int], size: int, batches: list[list[int]]) -> None:
    assert list(batched(items, size)) == batches


def test_batched_refuses_empty_batches() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(batched([1], 0))


@pytest.mark.parametrize(
    ("width", "height", "max_side", "size"),
    [
        (640, 480, 256, (256, 192)),
        (480, 640, 256, (192, 256)),
        (100, 50, 256, (100, 50)),  # never upscaled
        (1000, 1, 100, (100, 1)),  # never zero
        (300, 300, 300, (300, 300)),
    ],
)
def test_thumbnail_size(width: int, height: int, max_side: int, size: tuple[int, int]) -> None:
    assert thumbnail_size(width, height, max_side) == size


@pytest.mark.parametrize(
    ("result", "pending"),
    [
        (_result(None), False),
        (_result(ValueError("final")), False),
        (_result(NoResultError()), True),  # a retry middleware replaced the error
        (
            TaskiqResult(is_err=False, return_value=1, execution_time=0, error=NoResultError()),
            False,
        ),
    ],
)
def test_retry_pending(result: TaskiqResult[Any], pending: bool) -> None:
    assert retry_pending(result) is pending


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        *((text, True) for text in ("1", "true", "True", "TRUE", "yes", "Yes", "on", " on ")),
        *((text, False) for text in ("0", "false", "False", "no", "NO", "off", "Off ")),
    ],
)
def test_parse_flag_reads_every_spelling_of_a_boolean(value: object, flag: bool) -> None:
    assert parse_flag(value) is flag


@pytest.mark.parametrize("value", ["", "maybe", "tru", "2", 2, -1, 1.0, None, [], {}])
def test_parse_flag_refuses_what_is_not_a_boolean(value: object) -> None:
    with pytest.raises(ValueError, match="is not a boolean"):
        parse_flag(value)


@pytest.mark.parametrize(
    ("labels", "default", "flag"),
    [
        ({}, False, False),
        ({}, True, True),  # unset: the default
        ({"x": None}, True, True),
        ({"x": True}, False, True),
        ({"x": "True"}, False, True),  # as taskiq-pipelines re-sends it
        ({"x": "yes"}, False, True),
        ({"x": "False"}, True, False),
        ({"x": "0"}, True, False),
    ],
)
def test_label_flag(labels: dict[str, Any], default: bool, flag: bool) -> None:
    assert label_flag(labels, "x", default) is flag


def test_label_flag_names_the_label_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="label x: 'maybe' is not a boolean"):
        label_flag({"x": "maybe"}, "x")


@pytest.mark.parametrize(
    "labels", [{"ignore_result": "maybe"}, {"track_started": 2}, {"track_started": "sure"}]
)
def test_result_flags_that_are_not_booleans_are_refused(labels: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="is not a boolean"):
        check_flags(labels)


@pytest.mark.parametrize(
    ("labels", "default", "tracked"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"track_started": True}, False, True),
        ({"track_started": "True"}, False, True),
        ({"track_started": "False"}, True, False),
        ({"track_started": "on"}, False, True),
        ({"track_started": "1", "ignore_result": "yes"}, True, False),
        ({"track_started": True, "ignore_result": True}, True, False),
        ({"ignore_result": "True"}, True, False),
    ],
)
def test_tracks_started(labels: dict[str, Any], default: bool, tracked: bool) -> None:
    assert tracks_started(labels, default) is tracked


def test_a_parked_message_keeps_a_bytes_label_through_the_formatter() -> None:
    """The retry envelope vs taskiq-pipelines' pipeline label: one wire form for both."""
    received = TaskiqMessage(
        task_id="t1",
        task_name="test.add",
        labels={"_pipe_data": b'{"steps": []}'},
        args=[],
        kwargs={},
    )
    formatter = JSONFormatter()
    sent = formatter.loads(formatter.dumps(wire_form(received, {"retries": 1})).message)
    sent.parse_labels()
    assert sent.labels == {"_pipe_data": b'{"steps": []}', "retries": 1}
    assert relabel(received, {"retries": 1}).labels == sent.labels


async def test_celery_priority_is_refused_before_anything_is_sent() -> None:
    """Refused at call time, naming what to do instead, and nothing is kicked (the task's
    broker here would fail on any kick: it was never started)."""
    from tests.patterns.tasks_for_tests import add

    with pytest.raises(
        ValueError, match=r"priority=9: .*own queue \(apply_async\(queue='urgent'\)"
    ):
        await apply_async(add, (1, 2), priority=9)
