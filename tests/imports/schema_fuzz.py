"""Schemathesis against the app, in-process: run by test_schema_fuzz.py as a child pytest.

A child, because the web process reads its settings once, from the environment, when
`app.main` is imported (the broker's Redis prefix included): the child's environment is the
parent test's database and prefix, so every kick, schedule and revoke lands in that test's
namespace. The app (`app.main:app`, as uvicorn serves it) runs in this process on real
PostgreSQL and Redis, lifespan and all; every schemathesis check is on.
"""

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from app.main import app

load_all_checks()
# Every registered check (all of them are functions; the registry's type also admits classes).
ALL_CHECKS = [check for check in CHECKS.get_all() if not isinstance(check, type)]
# An operator's credential, so the control routes are exercised past their auth (and the
# ignored_auth check proves a request without it is refused).
AUTH = {"Authorization": f"Bearer {os.environ['OPERATOR_TOKEN']}"}
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))

# What no JSON Schema can say, so schema-valid data may still be refused with the documented
# answer: which strings are a usable CSV (POST /imports, 400), and which task names, cron
# expressions and timezones exist or which schedule ids are taken (POST /admin/schedules, 422
# and 409; its "exactly one of cron, interval_seconds, at" too). And a readiness probe's 503
# (no worker runs beside this in-process app) is its documented answer, not a server error.
CONFIG = SchemathesisConfig.from_str(
    """
[[operations]]
include-name = "POST /imports"
checks.positive_data_acceptance.expected-statuses = ["2XX", "400"]

[[operations]]
include-name = "POST /admin/schedules"
checks.positive_data_acceptance.expected-statuses = ["2XX", "409", "422"]

[[operations]]
include-name = "GET /ready"
checks.not_a_server_error.expected-statuses = ["2XX", "3XX", "4XX", "503"]
"""
)

schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers=AUTH, checks=ALL_CHECKS)
