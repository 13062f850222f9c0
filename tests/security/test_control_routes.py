"""The control routes on a real web process, Redis and PostgreSQL: who gets in, who doesn't, and
that a refused request changes nothing (docs/security.md)."""

import base64

import pytest
from pydantic import ValidationError

from app.main import create_app
from core.settings import Settings
from tests.conftest import OPERATOR_TOKEN, VIEWER_TOKEN, StartProcess
from tests.security.support import (
    CONTROL_ROUTES,
    SECRET_TRACEBACK,
    call,
    redis_dump,
    row_counts,
    seed,
    web_client,
)

# Routes anyone who reaches the web port may call: the application's own API.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/imports"),
    ("GET", "/imports/{import_id}"),
    ("GET", "/imports/{import_id}/events"),
    ("POST", "/imports/{import_id}/resume"),
    ("GET", "/reports/daily"),
    ("GET", "/tasks/{task_id}"),
}
WRONG_TOKEN = "w" * 43


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_every_route_is_public_or_a_control_route_that_declares_its_credential() -> None:
    # A new route fails here until it is classified: added to PUBLIC_ROUTES, or to
    # CONTROL_ROUTES behind ViewerDep/OperatorDep (then the tests below cover it).
    schema = create_app(Settings()).openapi()
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    control = {(route.method, route.template) for route in CONTROL_ROUTES}
    assert set(operations) - PUBLIC_ROUTES == control
    for key, operation in operations.items():
        declared = operation.get("security")
        assert declared == ([{"HTTPBearer": []}, {"HTTPBasic": []}] if key in control else None)


def test_a_missing_wrong_or_weaker_credential_is_refused_and_changes_nothing(
    settings: Settings,
    start: StartProcess,
    operator_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    with web_client(start) as (client, web):
        seed(settings, client, operator_headers)
        redis_before, rows_before = redis_dump(settings), row_counts(settings)
        refused = [
            ("no credential", {}, 401),
            ("a scheme without credentials", {"Authorization": "Bearer"}, 401),
            ("a wrong bearer token", {"Authorization": f"Bearer {WRONG_TOKEN}"}, 401),
            ("a wrong basic password", basic("operator", WRONG_TOKEN), 401),
            ("the operator token under the viewer's name", basic("viewer", OPERATOR_TOKEN), 401),
            ("an unknown scheme", {"Authorization": f"Token {OPERATOR_TOKEN}"}, 401),
        ]
        as_viewer = [
            ("the viewer's bearer token", viewer_headers, 403),
            ("the viewer's basic login", basic("viewer", VIEWER_TOKEN), 403),
        ]
        failures = []
        for route in CONTROL_ROUTES:
            for what, headers, expected in refused + (
                as_viewer if route.role == "operator" else []
            ):
                answer = call(client, route, headers=headers)
                challenge = answer.headers.get("www-authenticate", "")
                if answer.status_code != expected:
                    failures.append(f"{route.method} {route.path} with {what}: {answer.text}")
                elif expected == 401 and not ("Bearer" in challenge and "Basic" in challenge):
                    failures.append(f"{route.method} {route.path}: challenge {challenge!r}")
                elif OPERATOR_TOKEN in answer.text or VIEWER_TOKEN in answer.text:
                    failures.append(f"{route.method} {route.path}: a token in the body")
        assert failures == []
        assert redis_dump(settings) == redis_before
        assert row_counts(settings) == rows_before
        log = web.log()
        assert "401" in log  # the access log is on, and it is what is searched
    for secret in (OPERATOR_TOKEN, VIEWER_TOKEN, WRONG_TOKEN):
        assert secret not in log


def test_viewers_read_without_tracebacks_operators_see_and_act(
    settings: Settings,
    start: StartProcess,
    operator_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    with web_client(start) as (client, _):
        seed(settings, client, operator_headers)
        for route in CONTROL_ROUTES:
            if route.role == "viewer":
                answer = call(client, route, headers=viewer_headers)
                assert answer.status_code == 200, (route, answer.text)
        (seen_by_viewer,) = client.get("/admin/dead-letters", headers=viewer_headers).json()
        assert (seen_by_viewer["error"], seen_by_viewer["traceback"], seen_by_viewer["raw"]) == (
            "ValueError: card 4111-1111",
            None,
            None,
        )
        # Basic auth, as a browser's login prompt sends it, is the same operator.
        as_browser = basic("operator", OPERATOR_TOKEN)
        (seen_by_operator,) = client.get("/admin/dead-letters", headers=as_browser).json()
        assert seen_by_operator["traceback"] == SECRET_TRACEBACK

        accepted = {
            (route.method, route.path): call(client, route, headers=operator_headers).status_code
            for route in CONTROL_ROUTES
        }
        assert accepted == {
            ("GET", "/admin/dead-letters"): 200,
            ("POST", "/admin/dead-letters/1/replay"): 202,
            ("GET", "/admin/schedules"): 200,
            ("GET", "/admin/schedules/seeded"): 200,
            ("POST", "/admin/schedules"): 201,
            ("DELETE", "/admin/schedules/seeded"): 204,
            ("POST", "/tasks/t-1/revoke"): 202,
        }
        remaining = client.get("/admin/schedules", headers=viewer_headers).json()
        assert [s["schedule_id"] for s in remaining] == ["added"]
    assert row_counts(settings)["dead_letters replayed"] == 1


def test_without_a_configured_credential_the_control_routes_are_off(
    settings: Settings, start: StartProcess, viewer_headers: dict[str, str]
) -> None:
    with web_client(start, OPERATOR_TOKEN="", VIEWER_TOKEN="") as (client, _):
        redis_before, rows_before = redis_dump(settings), row_counts(settings)
        for route in CONTROL_ROUTES:
            for headers in ({}, {"Authorization": f"Bearer {OPERATOR_TOKEN}"}):
                answer = call(client, route, headers=headers)
                assert answer.status_code == 404, (route, answer.text)
                assert "are off" in answer.text
                assert "OPERATOR_TOKEN" in answer.text
        assert redis_dump(settings) == redis_before
        assert row_counts(settings) == rows_before
        assert client.get("/health").status_code == 200


def test_with_only_a_viewer_token_reading_is_on_and_acting_is_off(
    settings: Settings, start: StartProcess, viewer_headers: dict[str, str]
) -> None:
    with web_client(start, OPERATOR_TOKEN="") as (client, _):
        redis_before = redis_dump(settings)
        for route in CONTROL_ROUTES:
            answer = call(client, route, headers=viewer_headers)
            if route.role == "viewer":
                expected = 404 if route.path == "/admin/schedules/seeded" else 200
                assert answer.status_code == expected, (route, answer.text)
            else:
                assert answer.status_code == 404, (route, answer.text)
                assert "operator role are off" in answer.text, answer.text
        assert redis_dump(settings) == redis_before


def test_tokens_never_show_in_reprs_or_refusals() -> None:
    secret = "s3cret-" + "q" * 30
    settings = Settings(_env_file=None, operator_token=secret, viewer_token=secret[::-1])
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert secret not in shown
        assert secret[::-1] not in shown
    for bad in (
        {"operator_token": "short-secret"},  # under 16 characters
        {"operator_token": secret, "viewer_token": secret},  # one token, two roles
        {"database_url": f"postgresql://app:{secret}@db/stack"},  # not asyncpg
    ):
        with pytest.raises(ValidationError) as refused:
            Settings(_env_file=None, **bad)  # type: ignore[arg-type]
        assert "short-secret" not in str(refused.value)
        assert secret not in str(refused.value)
    assert Settings(_env_file=None, operator_token="").operator_token is None


def test_a_body_is_validated_only_once_the_credential_is(start: StartProcess) -> None:
    # The credential is a dependency, solved before the body's fields are validated: a stranger
    # learns nothing of the schema. (Malformed JSON is refused at parsing, before either.)
    with web_client(start) as (client, _):
        answer = client.post("/admin/schedules", json={"task_name": 1, "cron": []})
    assert answer.status_code == 401, answer.text
