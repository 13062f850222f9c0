"""Routing rules (taskiq_durable.queues) as tables; test_urgent_queue.py proves the wiring."""

from typing import Any

import pytest
from taskiq import TaskiqMessage
from taskiq_durable.queues import RoutingMiddleware, route, stream_name

from core.settings import Settings

ROUTES = {"reports.*": "urgent", "imports.run": "default", "*": "urgent"}


@pytest.mark.parametrize(
    ("task_name", "labels", "routes", "queue"),
    [
        ("imports.run", {}, {}, "default"),
        ("reports.daily", {}, ROUTES, "urgent"),
        ("imports.run", {}, ROUTES, "default"),  # first matching pattern wins
        ("images.resize", {}, ROUTES, "urgent"),  # the catch-all
        ("reports.daily", {"queue": "default"}, ROUTES, "default"),  # the task's label wins
        ("images.resize", {"queue": "urgent"}, {}, "urgent"),
        ("Reports.daily", {}, {"reports.*": "urgent"}, "default"),  # case-sensitive
    ],
)
def test_route(task_name: str, labels: dict[str, Any], routes: dict[str, str], queue: str) -> None:
    assert route(task_name, labels, routes, "default") == queue


def message(task_name: str, **labels: Any) -> TaskiqMessage:
    return TaskiqMessage(task_id="t1", task_name=task_name, labels=labels, args=[], kwargs={})


@pytest.mark.parametrize(
    ("labels", "stream"),
    [
        ({}, "p:queue:default"),
        ({"queue": "urgent"}, "p:queue:urgent"),
        ({"queue_name": "p:queue:urgent"}, "p:queue:urgent"),  # apply_async(queue=...)
        ({"queue_name": "p:queue:default", "queue": "urgent"}, "p:queue:default"),
    ],
)
def test_middleware_sets_the_stream(labels: dict[str, Any], stream: str) -> None:
    routing = RoutingMiddleware(Settings(_env_file=None, redis_prefix="p").durable())
    assert routing.pre_send(message("imports.run", **labels)).labels["queue_name"] == stream


@pytest.mark.parametrize(
    ("labels", "error"),
    [
        ({"queue": "priority_high"}, "unknown queue 'priority_high'"),
        ({"queue_name": "p:queue:nope"}, "unknown stream 'p:queue:nope'"),
        ({"queue_name": "other:queue:default"}, "unknown stream"),  # another stack's stream
    ],
)
def test_a_kick_to_an_unknown_queue_fails(labels: dict[str, Any], error: str) -> None:
    routing = RoutingMiddleware(Settings(_env_file=None, redis_prefix="p").durable())
    with pytest.raises(ValueError, match=error):
        routing.pre_send(message("imports.run", **labels))


def test_a_route_to_an_unknown_queue_fails_at_start() -> None:
    settings = Settings(_env_file=None, task_routes={"reports.*": "reports"})
    with pytest.raises(ValueError, match="names unknown queue 'reports'"):
        settings.durable()


def test_task_routes_are_read_as_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TASK_ROUTES", '{"reports.*": "urgent"}')
    assert Settings(_env_file=None).task_routes == {"reports.*": "urgent"}


def test_stream_name_refuses_unknown_worker_queues() -> None:
    assert (
        stream_name(Settings(_env_file=None, redis_prefix="p").durable(), "urgent")
        == "p:queue:urgent"
    )
    with pytest.raises(ValueError, match="configured queues are default, urgent"):
        stream_name(Settings(_env_file=None).durable(), "celery")
