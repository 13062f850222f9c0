"""`--fix`: rewrite what is mechanical, mark what is not with TODO(migrate) comments.

Detection is not repeated here: every rewrite starts from a finding of the scan, so the fix
and the report always agree on what was found."""

import ast
from collections import Counter
from dataclasses import dataclass

from migration_checker.facts import ModuleFacts
from migration_checker.findings import Finding
from migration_checker.fix.beat import BeatPlan, plan_beat
from migration_checker.fix.calls import CallFixer, NodeIndex
from migration_checker.fix.decorators import rewrite_task
from migration_checker.fix.imports import fix_imports
from migration_checker.fix.source import EditableSource
from migration_checker.fix.target import DEFAULT_BROKER_IMPORT, Import
from migration_checker.project import ScanResult
from migration_checker.rules import RULES

__all__ = ["TODO_MARK", "FileFix", "fix_project"]

TODO_MARK = "# TODO(migrate):"

# Findings the decorator rewrite accounts for (translated, or a TODO of its own).
_DECORATOR_RULES = frozenset(
    {
        "task-definition",
        "task-bind",
        "retry",
        "time-limit",
        "routing",
        "rate-limit",
        "ignore-result",
        "acks-late",
        "task-option",
        "serializer",
    }
)


@dataclass(frozen=True, slots=True)
class FileFix:
    path: str
    old: str
    new: str


def _todo(rule_id: str, detail: str) -> str:
    rule = RULES[rule_id]
    return f"{TODO_MARK} {detail} → {rule.becomes} ({rule.section.link})"


def _comments_above(source: EditableSource, line: int) -> set[str]:
    """The comment block right above `line`, so a second --fix adds no duplicate TODOs."""
    found: set[str] = set()
    while line > 1 and source.line_text(line - 1).lstrip().startswith("#"):
        line -= 1
        found.add(source.line_text(line).strip())
    return found


def _fix_module(
    facts: ModuleFacts,
    findings: list[Finding],
    plan: BeatPlan,
    task_names: frozenset[str],
    broker_import: str,
) -> str:
    source = EditableSource(facts.source)
    todos: dict[int, list[str]] = {}
    decorator_lines = set()
    rewritten: Counter[str] = Counter()
    imports: set[Import] = set()
    for task in facts.tasks:
        labels = plan.labels.get((task.path, task.line), [])
        schedule = f"schedule=[{', '.join(labels)}]" if labels else None
        result = rewrite_task(source, task, schedule)
        imports |= result.imports
        first = min(d.lineno for d in task.node.decorator_list)
        decorator_lines.add(first)
        todos.setdefault(first, []).extend(
            f"{TODO_MARK} {text} ({RULES[rule_id].section.link})" for rule_id, text in result.todos
        )
        func = task.decorator.func if isinstance(task.decorator, ast.Call) else task.decorator
        base = func.value if isinstance(func, ast.Attribute) else func
        if isinstance(base, ast.Name):
            rewritten[base.id] += 1
    calls = CallFixer(source, NodeIndex.build(facts.tree), task_names)
    for finding in findings:
        reason: str | None = finding.message
        if finding.rule_id in _DECORATOR_RULES and finding.stmt_line in decorator_lines:
            continue
        if finding.rule_id in {"delay", "apply-async"}:
            reason = calls.kick(finding.line, finding.column)
            todos.setdefault(finding.stmt_line, []).extend(
                _todo("routing", note) for note in calls.notes
            )
            calls.notes.clear()
        elif finding.rule_id == "result-access":
            reason = calls.result_get(finding.line, finding.column)
        elif finding.rule_id == "beat-schedule":
            continue
        if reason is not None:
            todos.setdefault(finding.stmt_line, []).append(_todo(finding.rule_id, reason))
    for (path, line), texts in plan.todos.items():
        if path == facts.path:
            todos.setdefault(line, []).extend(_todo("beat-schedule", t) for t in texts)
    for line, texts in sorted(todos.items()):
        present = _comments_above(source, line)
        for text in dict.fromkeys(texts):
            if text not in present:
                source.insert_line_before(line, text)
    imports |= calls.imports
    if facts.tasks or imports:
        broker = broker_import if facts.tasks else None
        fix_imports(source, facts.tree, rewritten, imports, broker)
    return source.result()


def fix_project(result: ScanResult, broker_import: str = DEFAULT_BROKER_IMPORT) -> list[FileFix]:
    """The rewritten text of every Python file that changes."""
    # Index names include tasks already on `@broker.task`, so a second --fix agrees with the first.
    task_names = result.index.task_names
    plan = plan_beat(result.modules, task_names)
    by_path: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_path.setdefault(finding.path, []).append(finding)
    fixes = []
    for facts in result.modules:
        new = _fix_module(facts, by_path.get(facts.path, []), plan, task_names, broker_import)
        if new != facts.source:
            fixes.append(FileFix(facts.path, facts.source, new))
    return fixes
