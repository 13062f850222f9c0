"""Counts per pattern and the effort estimate, shared by every report format."""

from collections import Counter
from dataclasses import dataclass

from migration_checker.findings import Finding, Kind
from migration_checker.rules import RULES

__all__ = ["Summary", "summarize"]


@dataclass(frozen=True, slots=True)
class Summary:
    by_rule: dict[str, int]
    constructs: int
    hazards: int
    problems: int
    effort_minutes: int

    @property
    def effort_hours(self) -> float:
        return round(self.effort_minutes / 60, 1)


def summarize(findings: list[Finding]) -> Summary:
    counts = Counter(f.rule_id for f in findings)
    kinds = Counter(RULES[f.rule_id].kind for f in findings)
    return Summary(
        by_rule=dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        constructs=kinds[Kind.CONSTRUCT],
        hazards=kinds[Kind.HAZARD],
        problems=kinds[Kind.PROBLEM],
        effort_minutes=sum(RULES[rule_id].effort_minutes * n for rule_id, n in counts.items()),
    )
