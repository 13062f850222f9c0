"""Hostile HTTP input: schemathesis, every check on, against the app's own OpenAPI schema.

No request may answer 5xx, and every answer must match the schema (status, content type,
headers, body). Run in a child pytest (schema_fuzz.py says why) on this test's database and
Redis prefix; bounded by FUZZ_MAX_EXAMPLES per operation and phase, so it fits `make test`.
"""

import subprocess
import sys

from core.settings import Settings
from tests.conftest import stack_env
from tests.support.processes import ROOT

CHILD = "tests/imports/schema_fuzz.py"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(settings: Settings) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "pytest", CHILD, "-q", "-p", "no:cacheprovider", "--tb=line"],
        cwd=ROOT,
        env=stack_env(settings, FUZZ_MAX_EXAMPLES="25"),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert child.returncode == 0, child.stdout[-20000:] + child.stderr[-5000:]
