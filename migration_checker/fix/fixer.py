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
from migration_checker.fix.validate import rewrite_problem
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


@dataclass(frozen=True, slots=True)
class _Context:
    findings: list[Finding]
    plan: BeatPlan
    task_names: frozenset[str]
    broker_import: str


def _fix_module(
    facts: ModuleFacts,
    context: _Context,
    kept: dict[int, str],
    rewrite_calls: bool = True,
) -> str:
    """`kept`: task line → why that task stays Celery code (a TODO says so); without
    `rewrite_calls` nothing but TODO comments is written."""
    source = EditableSource(facts.source)
    todos: dict[int, list[str]] = {}
    decorator_lines = set()
    # Statements already rewritten (`raise self.retry(...)` → `raise exc`): no TODO for them.
    handled: set[tuple[str, int]] = set()
    rewritten: Counter[str] = Counter()
    imports: set[Import] = set()
    plan, task_names = context.plan, context.task_names
    any_rewritten = False
    for task in facts.tasks:
        if task.line in kept:
            first = min(d.lineno for d in task.node.decorator_list)
            todos.setdefault(first, []).append(
                _todo("task-definition", f"task {task.func_name} left as it was: {kept[task.line]}")
            )
            continue
        labels = plan.labels.get((task.path, task.line), [])
        schedule = f"schedule=[{', '.join(labels)}]" if labels else None
        result = rewrite_task(source, task, schedule)
        any_rewritten = True
        handled |= {("retry-call", line) for line in result.retry_lines}
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
    for finding in context.findings:
        reason: str | None = finding.message
        if finding.rule_id in _DECORATOR_RULES and finding.stmt_line in decorator_lines:
            continue
        if (finding.rule_id, finding.stmt_line) in handled:
            continue
        if finding.rule_id in {"delay", "apply-async"} and rewrite_calls:
            reason = calls.kick(finding.line, finding.column)
            todos.setdefault(finding.stmt_line, []).extend(
                _todo("routing", note) for note in calls.notes
            )
            calls.notes.clear()
        elif finding.rule_id == "result-access" and rewrite_calls:
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
        # A comment is one line: option values spanning lines are folded onto it.
        for text in dict.fromkeys(" ".join(t.split()) for t in texts):
            if text not in present:
                source.insert_line_before(line, text)
    imports |= calls.imports
    if any_rewritten or imports:
        broker = context.broker_import if any_rewritten else None
        fix_imports(source, facts.tree, rewritten, imports, broker)
    return source.result()


def _safe_fix(facts: ModuleFacts, context: _Context) -> str:
    """The full rewrite when it is proven safe (validate.py); else the rewrite with each task
    whose rewrite breaks the module left as it was; else TODO comments only."""

    def attempt(kept: dict[int, str], rewrite_calls: bool = True) -> tuple[str, str | None]:
        try:
            new = _fix_module(facts, context, kept, rewrite_calls)
        except ValueError as exc:  # edits that overlap: no text to check
            return facts.source, str(exc)
        return new, rewrite_problem(facts.source, new, facts.path, facts.lowered)

    new, first = attempt({})
    if first is None:
        return new
    kept = {task.line: first for task in facts.tasks}
    if attempt(kept)[1] is None:
        for task in facts.tasks:
            trial = {line: why for line, why in kept.items() if line != task.line}
            if attempt(trial)[1] is None:
                kept = trial
        return attempt(kept)[0]
    todo_only, problem = attempt(kept, rewrite_calls=False)
    return todo_only if problem is None else facts.source


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
        context = _Context(by_path.get(facts.path, []), plan, task_names, broker_import)
        new = _safe_fix(facts, context)
        if new != facts.source:
            fixes.append(FileFix(facts.path, facts.source, new))
    return fixes
