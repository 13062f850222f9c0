"""Rewrite a Celery task decorator and its options into this stack's `@broker.task(labels)`.

Options the stack reads as labels are translated (retries: fix/retry_labels.py); options it
covers by default (`acks_late=True`: every message is acked after its result is saved) are
dropped; the rest become TODO(migrate) comments, because their form here is a decision."""

import ast
import json
from dataclasses import dataclass, field

from migration_checker.facts import TaskDef
from migration_checker.fix.bind import rewrite_bound_self
from migration_checker.fix.retry_labels import RETRY_OPTIONS, ManualRetries, retry_labels
from migration_checker.fix.source import EditableSource
from migration_checker.fix.target import Import, Label, queue_todo
from migration_checker.names import dotted
from migration_checker.options import option_rule

__all__ = ["BROKER_NAME", "DecoratorRewrite", "rewrite_task"]

BROKER_NAME = "broker"
LINE_LENGTH = 100

_TODO_BY_OPTION = {
    "routing_key": "route with the queue label or TASK_ROUTES (one stream per queue)",
    "exchange": "route with the queue label or TASK_ROUTES (one stream per queue)",
    "priority": "Redis streams have no priority: the urgent queue and its own worker",
    "store_errors_even_if_ignored": "failures are always stored here",
    "reject_on_worker_lost": "a dead worker's unacked messages are always redelivered here",
    "acks_late": "every message is acked after its result is saved; make the task idempotent",
    "acks_on_failure_or_timeout": "failures are acked and go to retries and dead letters",
    "serializer": "JSON only on this stack: pass ids and plain data",
    "base": "a custom Task class becomes a middleware",
}
# Options whose value the stack already behaves as; any other value gets the TODO above.
_DEFAULT_BEHAVIOUR = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "acks_on_failure_or_timeout": True,
    "store_errors_even_if_ignored": True,
    "serializer": "json",
}


@dataclass(slots=True)
class DecoratorRewrite:
    labels: list[Label] = field(default_factory=list)
    # (rule id, text): the rule's guide section is linked from the comment.
    todos: list[tuple[str, str]] = field(default_factory=list)
    imports: set[Import] = field(default_factory=set)
    retry_lines: set[int] = field(default_factory=set)


def _literal(value: ast.expr) -> object:
    return value.value if isinstance(value, ast.Constant) else None


def _translate(name: str, value: ast.expr, text: str, sync: bool, out: DecoratorRewrite) -> None:
    if name in {"time_limit", "soft_time_limit"}:
        out.labels.append(Label(f"{name}={text}"))
        if sync:
            out.todos.append(
                (
                    "time-limit",
                    f"{name}={text}: a sync task can't be stopped while it runs; make it async "
                    "def, or run CPU work through taskiq_durable.cpu_pool",
                )
            )
    elif name == "queue":
        out.labels.append(Label(f"queue={text}"))
        todo = queue_todo(text)
        if todo is not None:
            out.todos.append(("routing", todo))
    elif name == "rate_limit":
        rate = _literal(value)
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            # Celery's bare number is per second; the stack's label is a string.
            text = f'"{rate}/s"'
        out.labels.append(Label(f"rate_limit={text}"))
    elif name == "ignore_result":
        out.labels.append(Label(f"ignore_result={text}"))
    elif name in _DEFAULT_BEHAVIOUR and _literal(value) == _DEFAULT_BEHAVIOUR[name]:
        return
    elif name not in RETRY_OPTIONS | {"name", "bind", "run_every"}:
        hint = _TODO_BY_OPTION.get(name, "no label on this stack: decide")
        out.todos.append((option_rule(name), f"{name}={text}: {hint}"))


def _decorator_text(labels: list[Label], indent: int) -> str:
    """One line when it fits the usual 100 columns and has no comment, else a label per line."""
    one_line = f"{BROKER_NAME}.task({', '.join(label.text for label in labels)})"
    if indent + 1 + len(one_line) <= LINE_LENGTH and not any(label.comment for label in labels):
        return one_line
    pad = " " * indent
    body = "".join(
        f"{pad}    {label.text},{f'  # {label.comment}' if label.comment else ''}\n"
        for label in labels
    )
    return f"{BROKER_NAME}.task(\n{body}{pad})"


def _handler_types(handler: ast.ExceptHandler) -> tuple[str, ...] | None:
    if handler.type is None:
        return None
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = [dotted(t) for t in types]
    return None if None in names else tuple(n for n in names if n)


def manual_retries(task: TaskDef) -> ManualRetries:
    """What the task's `self.retry(...)` calls say (the bound name, whatever it is)."""
    args = [*task.node.args.posonlyargs, *task.node.args.args]
    if not args:
        return ManualRetries()
    retry = f"{args[0].arg}.retry"
    countdowns: list[str] = []
    max_retries: list[str] = []
    types: list[str] | None = []
    calls = 0

    def walk(node: ast.AST, handler: tuple[str, ...] | None) -> None:
        nonlocal types, calls
        for child in ast.iter_child_nodes(node):
            inner = _handler_types(child) if isinstance(child, ast.ExceptHandler) else handler
            if isinstance(child, ast.Call) and dotted(child.func) == retry:
                calls += 1
                given = {kw.arg: ast.unparse(kw.value) for kw in child.keywords if kw.arg}
                if "countdown" in given:
                    countdowns.append(given["countdown"])
                if "max_retries" in given:
                    max_retries.append(given["max_retries"])
                if handler is None or types is None:
                    types = None
                else:
                    types += handler
            walk(child, inner)

    walk(task.node, None)
    return ManualRetries(
        tuple(countdowns), tuple(max_retries), tuple(types) if types else None, calls
    )


def rewrite_task(source: EditableSource, task: TaskDef, schedule: str | None) -> DecoratorRewrite:
    """`schedule`: the `schedule=[...]` label the beat plan made for this task, if any."""
    out = DecoratorRewrite()
    texts = {name: source.segment(value) for name, value in task.options.items()}
    # Celery's name (explicit or module.function) is kept: beat entries, TASK_ROUTES patterns
    # and messages already queued name the task by it.
    out.labels.append(Label(f"task_name={texts.get('name') or json.dumps(task.celery_name)}"))
    retry = retry_labels(texts, manual_retries(task))
    out.labels += retry.labels
    out.todos += [("retry", todo) for todo in retry.todos]
    sync = isinstance(task.node, ast.FunctionDef)
    for name, value in task.options.items():
        _translate(name, value, texts[name], sync, out)
    if schedule is not None:
        out.labels.append(Label(schedule))
    source.replace_node(task.decorator, _decorator_text(out.labels, task.decorator.col_offset - 1))
    if _literal(task.options.get("bind", ast.Constant(False))) is True:
        bound = rewrite_bound_self(source, task)
        out.imports |= bound.imports
        out.retry_lines = bound.retry_lines
        out.todos += [("task-bind", todo) for todo in bound.todos]
    return out
