"""Report formats: human text, JSON and SARIF 2.1.0."""

from migration_checker.report.human import render_human
from migration_checker.report.json_report import render_json
from migration_checker.report.sarif import render_sarif

__all__ = ["render_human", "render_json", "render_sarif"]
