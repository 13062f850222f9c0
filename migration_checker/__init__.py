"""Celery → TaskIQ migration checker: reads a Celery project statically and reports what each
construct becomes, which hazards it carries, and (with --fix) rewrites the mechanical parts."""

from migration_checker.findings import Finding, Kind, Level
from migration_checker.project import ScanResult, scan_project
from migration_checker.rules import RULES, Rule
from migration_checker.sections import Section

__all__ = ["RULES", "Finding", "Kind", "Level", "Rule", "ScanResult", "Section", "scan_project"]
