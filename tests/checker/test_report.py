"""The three report formats: human (grouped, counted, estimated), JSON and SARIF 2.1.0."""

import json
import re

from migration_checker import RULES, ScanResult
from migration_checker.report import render_human, render_json, render_sarif
from migration_checker.report.summary import summarize


def test_human_report_groups_by_file_and_links_every_finding(fixture_scan: ScanResult) -> None:
    text = render_human(fixture_scan)
    lines = text.splitlines()
    assert "proj/tasks/arith.py" in lines
    assert "docs/migration.md#the-fork-problem" in text
    finding_lines = [i for i, line in enumerate(lines) if re.match(r"  \d+:\d+  \[", line)]
    assert finding_lines
    assert all("→ docs/migration.md#" in lines[i + 1] for i in finding_lines)
    assert "Patterns" in lines
    assert "Effort estimate: ~" in text


def test_summary_counts_every_finding_once(fixture_scan: ScanResult) -> None:
    summary = summarize(fixture_scan.findings)
    assert sum(summary.by_rule.values()) == len(fixture_scan.findings)
    assert summary.constructs + summary.hazards + summary.problems == len(fixture_scan.findings)
    assert summary.effort_minutes == sum(
        RULES[f.rule_id].effort_minutes for f in fixture_scan.findings
    )


def test_json_report(fixture_scan: ScanResult) -> None:
    report = json.loads(render_json(fixture_scan))
    assert report["version"] == 1
    assert len(report["findings"]) == len(fixture_scan.findings)
    first = report["findings"][0]
    assert set(first) == {
        "rule_id",
        "kind",
        "level",
        "path",
        "line",
        "column",
        "message",
        "becomes",
        "section",
        "guide",
    }
    assert first["guide"] == f"docs/migration.md#{first['section']}"
    assert report["summary"]["hazards"] > 0


def test_sarif_report_has_the_required_shape(fixture_scan: ScanResult) -> None:
    sarif = json.loads(render_sarif(fixture_scan))
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [rule["id"] for rule in rules]
    assert rule_ids == list(RULES)
    assert all(rule["helpUri"].startswith("docs/migration.md#") for rule in rules)
    assert len(run["results"]) == len(fixture_scan.findings)
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"note", "warning", "error"}
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["region"]["startLine"] >= 1
