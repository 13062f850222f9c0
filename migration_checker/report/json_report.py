"""Machine-readable report: every finding with its rule, section link and the summary."""

import json
from typing import Any

from migration_checker.project import ScanResult
from migration_checker.report.summary import summarize
from migration_checker.rules import RULES

__all__ = ["render_json", "report_dict"]

FORMAT_VERSION = 1


def report_dict(result: ScanResult) -> dict[str, Any]:
    summary = summarize(result.findings)
    findings = []
    for finding in result.findings:
        rule = RULES[finding.rule_id]
        findings.append(
            {
                "rule_id": rule.id,
                "kind": rule.kind.value,
                "level": rule.level.label,
                "path": finding.path,
                "line": finding.line,
                "column": finding.column,
                "message": finding.message,
                "becomes": rule.becomes,
                "section": rule.section.anchor,
                "guide": rule.section.link,
            }
        )
    return {
        "version": FORMAT_VERSION,
        "root": str(result.root),
        "files": {"python": result.python_files, "scripts": result.script_files},
        "lines": result.lines,
        "findings": findings,
        "summary": {
            "by_rule": summary.by_rule,
            "constructs": summary.constructs,
            "hazards": summary.hazards,
            "problems": summary.problems,
            "effort_minutes": summary.effort_minutes,
        },
    }


def render_json(result: ScanResult) -> str:
    return json.dumps(report_dict(result), indent=2, ensure_ascii=False) + "\n"
