"""docs/migration.md names only code and tests that exist, and every checker anchor.

Markup the guide follows: a code path is a backticked repository path (`tasks/broker.py`,
`taskiq-durable/src/taskiq_durable/canvas/`), a test is a backticked pytest node id
(`tests/x/test_y.py::test_z`). Every
row of the quick table and every pattern section names at least one of each.
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from migration_checker.sections import GUIDE_PATH, Section, slugify

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / GUIDE_PATH).read_text()
SPAN = re.compile(r"`([^`\s]+)`")
NODE_ID = re.compile(r"^(tests/[\w/]+\.py)::(\w+(?:::\w+)?)$")
PATH = re.compile(r"^[\w.-]+(?:/[\w.-]+)+/?$")
TOP_DIRS = frozenset(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("."))
# Sections that are about the guide itself, not a Celery pattern.
NOT_PATTERNS = frozenset({"Run the checker first", "At a glance"})


def node_ids(text: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for span in SPAN.findall(text) if (m := NODE_ID.match(span))]


def paths(text: str) -> list[str]:
    """Backticked repository paths: a known top folder, or any `x/y.py`-like file."""
    return [
        span
        for span in SPAN.findall(text)
        if PATH.match(span)
        and (span.split("/")[0] in TOP_DIRS or span.endswith((".py", ".md", ".sh")))
    ]


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@cache
def defined_tests(path: str) -> frozenset[str]:
    """`name` and `Class::name` of every test function in a test file."""
    tree = ast.parse((ROOT / path).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return frozenset(n for n in names if n.split("::")[-1].startswith("test"))


@pytest.mark.parametrize(
    ("text", "expected_paths", "expected_tests"),
    [
        (
            "see `tasks/broker.py` and `taskiq-durable/src/taskiq_durable/canvas/`",
            ["tasks/broker.py", "taskiq-durable/src/taskiq_durable/canvas/"],
            [],
        ),
        ("`tests/a/test_b.py::test_c`", [], [("tests/a/test_b.py", "test_c")]),
        ("`tests/a/test_b.py::TestX::test_c`", [], [("tests/a/test_b.py", "TestX::test_c")]),
        (
            "`lib/thing.py` is a path; `text/csv` and `GET /tasks/{id}` are not",
            ["lib/thing.py"],
            [],
        ),
        ("`<prefix>:revoked:<id>`, `/admin/schedules`, `retry_backoff`", [], []),
    ],
)
def test_markup(
    text: str, expected_paths: list[str], expected_tests: list[tuple[str, str]]
) -> None:
    assert (paths(text), node_ids(text)) == (expected_paths, expected_tests)


def test_every_named_path_exists() -> None:
    assert [p for p in paths(GUIDE) if not (ROOT / p).exists()] == []


def test_every_named_test_exists() -> None:
    missing = [
        f"{path}::{name}"
        for path, name in node_ids(GUIDE)
        if not (ROOT / path).is_file() or name not in defined_tests(path)
    ]
    assert missing == []


def test_every_relative_link_lands_on_a_file() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", GUIDE)
    base = (ROOT / GUIDE_PATH).parent
    assert [link for link in links if not (base / link).exists()] == []


def test_every_checker_section_is_a_heading() -> None:
    anchors = {slugify(heading) for heading in sections(GUIDE)}
    assert [s.title for s in Section if s.anchor not in anchors] == []


def test_every_pattern_names_its_code_and_its_test() -> None:
    bare = [
        title
        for title, body in sections(GUIDE).items()
        if title not in NOT_PATTERNS and not (paths(body) and node_ids(body))
    ]
    assert bare == []


def test_every_quick_table_row_names_its_code_and_its_test() -> None:
    rows = [
        line
        for line in sections(GUIDE)["At a glance"].splitlines()
        if line.startswith("|") and not re.match(r"^\|[\s|:-]+\|$", line)
    ][1:]  # the header row
    assert rows
    assert [row for row in rows if not (paths(row) and node_ids(row))] == []
