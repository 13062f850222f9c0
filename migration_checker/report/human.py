"""The report a person reads: findings grouped by file, then counts per pattern and effort."""

from itertools import groupby

from migration_checker.findings import Kind
from migration_checker.project import ScanResult
from migration_checker.report.summary import summarize
from migration_checker.rules import RULES

__all__ = ["render_human"]


def render_human(result: ScanResult) -> str:
    summary = summarize(result.findings)
    out = [
        f"Celery → TaskIQ migration report for {result.root}",
        f"{result.python_files} Python files and {result.script_files} scripts "
        f"({result.lines} lines): {summary.constructs} constructs, {summary.hazards} hazards"
        + (f", {summary.problems} files not parsed" if summary.problems else ""),
        "",
    ]
    for path, group in groupby(result.findings, key=lambda f: f.path):
        out.append(path)
        for finding in group:
            rule = RULES[finding.rule_id]
            tag = "HAZARD " + rule.level.label if rule.kind is Kind.HAZARD else rule.kind.value
            out.append(f"  {finding.line}:{finding.column}  [{tag}] {rule.id}: {finding.message}")
            verb = "fix" if rule.kind is not Kind.CONSTRUCT else "becomes"
            out.append(f"      {verb}: {rule.becomes}  → {rule.section.link}")
        out.append("")
    if not result.findings:
        out += ["No Celery constructs found.", ""]
        return "\n".join(out)
    out.append("Patterns")
    width = max(len(rule_id) for rule_id in summary.by_rule)
    for rule_id, count in summary.by_rule.items():
        rule = RULES[rule_id]
        minutes = rule.effort_minutes * count
        out.append(f"  {count:5d}  {rule_id:<{width}}  ~{minutes:4d} min  {rule.section.link}")
    out += [
        "",
        f"Effort estimate: ~{summary.effort_hours} hours "
        f"({summary.effort_minutes} minutes, from per-pattern averages; a rough guide).",
    ]
    return "\n".join(out) + "\n"
