"""Scan a project: parse every file once, index apps and tasks, scan, add cross-file hazards."""

import ast
from dataclasses import dataclass, field
from pathlib import Path

from migration_checker.facts import ModuleFacts, ProjectIndex
from migration_checker.files import iter_sources
from migration_checker.findings import Finding
from migration_checker.hazards import project_hazards
from migration_checker.scanner import index_module, scan_module
from migration_checker.scripts import ScriptFacts, scan_script

__all__ = ["ScanResult", "scan_project"]


@dataclass(slots=True)
class ScanResult:
    root: Path
    index: ProjectIndex = field(default_factory=ProjectIndex)
    findings: list[Finding] = field(default_factory=list)
    modules: list[ModuleFacts] = field(default_factory=list)
    python_files: int = 0
    script_files: int = 0
    lines: int = 0


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def scan_project(root: Path) -> ScanResult:
    result = ScanResult(root)
    scripts = ScriptFacts()
    parsed: list[tuple[str, str, ast.Module]] = []
    apps: set[str] = set()
    tasks: set[str] = set()
    for source in iter_sources(root):
        text = _read(source.path)
        result.lines += text.count("\n")
        if not source.is_python:
            result.script_files += 1
            result.findings += scan_script(source.rel, text, scripts)
            continue
        result.python_files += 1
        try:
            tree = ast.parse(text, filename=source.rel)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 1
            message = f"not scanned: {exc.__class__.__name__}: {getattr(exc, 'msg', exc)}"
            result.findings.append(Finding("parse-error", source.rel, line, 1, message, line))
            continue
        file_apps, file_tasks = index_module(tree)
        apps |= file_apps
        tasks |= file_tasks
        parsed.append((source.rel, text, tree))
    index = result.index = ProjectIndex(frozenset(apps), frozenset(tasks))
    for rel, text, tree in parsed:
        facts = scan_module(rel, text, index, tree)
        result.modules.append(facts)
        result.findings += facts.findings
    result.findings += project_hazards(result.modules, scripts)
    result.findings.sort(key=lambda f: f.sort_key)
    return result
