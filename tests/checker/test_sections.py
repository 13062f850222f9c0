import re
from pathlib import Path

import pytest

from migration_checker import RULES, Section
from migration_checker.sections import slugify

GUIDE = Path(__file__).parents[2] / "docs" / "migration.md"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("App and config", "app-and-config"),
        ("Acks late and redelivery", "acks-late-and-redelivery"),
        ("The fork problem", "the-fork-problem"),
        ("Run the checker first", "run-the-checker-first"),
    ],
)
def test_slugify_matches_github(heading: str, anchor: str) -> None:
    assert slugify(heading) == anchor


def test_every_anchor_has_a_heading_in_the_guide() -> None:
    headings = re.findall(r"^##+ (.+)$", GUIDE.read_text(), flags=re.MULTILINE)
    anchors = {slugify(h) for h in headings}
    missing = [s.anchor for s in Section if s.anchor not in anchors]
    assert missing == []


def test_guide_begins_with_run_the_checker_first() -> None:
    headings = re.findall(r"^## (.+)$", GUIDE.read_text(), flags=re.MULTILINE)
    assert headings[0] == "Run the checker first"


def test_every_rule_links_to_a_section() -> None:
    assert all(rule.section.link.startswith("docs/migration.md#") for rule in RULES.values())
