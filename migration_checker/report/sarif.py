"""SARIF 2.1.0 for code-scanning UIs: one rule per catalog entry, one result per finding."""

import json
from typing import Any

from migration_checker.findings import Kind
from migration_checker.project import ScanResult
from migration_checker.rules import RULES

__all__ = ["SARIF_SCHEMA", "render_sarif", "sarif_dict"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "migration-checker"


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": rule.title,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": f"{rule.title} → {rule.becomes}"},
            "helpUri": rule.section.link,
            "help": {"text": f"{rule.becomes}. See {rule.section.link}"},
            "defaultConfiguration": {"level": rule.level.label},
            "properties": {"tags": [rule.kind.value, rule.section.anchor]},
        }
        for rule in RULES.values()
    ]


def _base_uri(result: ScanResult) -> str:
    """Finding paths are relative to the scanned folder (or to a scanned file's folder)."""
    root = result.root.resolve()
    return (root if root.is_dir() else root.parent).as_uri() + "/"


def sarif_dict(result: ScanResult) -> dict[str, Any]:
    order = {rule_id: i for i, rule_id in enumerate(RULES)}
    results = []
    for finding in result.findings:
        rule = RULES[finding.rule_id]
        verb = "fix" if rule.kind is Kind.HAZARD else "becomes"
        results.append(
            {
                "ruleId": rule.id,
                "ruleIndex": order[rule.id],
                "level": rule.level.label,
                "message": {"text": f"{finding.message} ({verb}: {rule.becomes})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": finding.path, "uriBaseId": "SRCROOT"},
                            "region": {"startLine": finding.line, "startColumn": finding.column},
                        }
                    }
                ],
            }
        )
    return {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "rules": _rules()}},
                "originalUriBaseIds": {"SRCROOT": {"uri": _base_uri(result)}},
                "results": results,
            }
        ],
    }


def render_sarif(result: ScanResult) -> str:
    return json.dumps(sarif_dict(result), indent=2, ensure_ascii=False) + "\n"
