"""One source for what a finding becomes: rules.py. The guide holds its table verbatim, and
no finding message restates a replacement of its own (where the two used to disagree)."""

import re
from pathlib import Path

import pytest

from migration_checker import scan_project
from migration_checker.rules import rules_table
from tests.checker.conftest import FIXTURE
from tests.checker.test_real_world import REAL_WORLD

GUIDE = Path(__file__).parents[2] / "docs" / "migration.md"
BLOCK = re.compile(r"<!-- checker-rules:start -->\n(.*?)<!-- checker-rules:end -->", re.DOTALL)


def test_the_guide_holds_the_rules_table_verbatim() -> None:
    (table,) = BLOCK.findall(GUIDE.read_text())
    assert table == rules_table()


@pytest.mark.parametrize(
    "project", [FIXTURE, *sorted(p for p in REAL_WORLD.iterdir() if p.is_dir())], ids=str
)
def test_messages_say_what_was_found_not_what_it_becomes(project: Path) -> None:
    messages = [f.message for f in scan_project(project).findings]
    assert messages
    assert [m for m in messages if "→" in m and " via " not in m] == []


def test_the_guides_claims_about_flags_match_the_rules() -> None:
    table = rules_table()
    # The guide says taskiq's --max-tasks-per-child is not used, and what -c becomes.
    assert "`--max-tasks-per-child` is not used" in table
    assert "`WORKER_PROCESSES` (prefork `-c`)" in table
    assert "`apply_chord`" in table
