"""Rewrite a Celery task decorator and its options into `@broker.task(labels)`.

Options with a TaskIQ label are translated; the rest become TODO(migrate) comments, because
their TaskIQ form (middleware settings, a worker per stream) is a decision, not a rename."""

import ast
import io
import tokenize
from dataclasses import dataclass, field

from migration_checker.facts import TaskDef
from migration_checker.fix.source import EditableSource

__all__ = ["BROKER_NAME", "DecoratorRewrite", "rewrite_task"]

BROKER_NAME = "broker"
LINE_LENGTH = 100

_TODO_BY_OPTION = {
    "retry_backoff": "backoff is SmartRetryMiddleware(use_delay_exponent=True) on the broker",
    "retry_backoff_max": "SmartRetryMiddleware(max_delay_exponent=...) on the broker",
    "retry_jitter": "SmartRetryMiddleware(use_jitter=True) on the broker",
    "retry_kwargs": "fold retry_kwargs into max_retries/delay labels",
    "dont_autoretry_for": "re-raise these exceptions as NoRetry-style errors or filter them",
    "rate_limit": "no built-in rate limit: use the project's rate-limit middleware",
    "ignore_result": "results are written when the broker has a result backend: decide",
    "routing_key": "route with queue_name labels (one stream per queue)",
    "exchange": "route with queue_name labels (one stream per queue)",
    "priority": "Redis streams have no priority: a separate queue_name + worker",
    "reject_on_worker_lost": "unacked stream messages are reclaimed after idle_timeout",
    "serializer": "the serializer belongs to the broker, not the task",
    "base": "a custom Task class becomes a middleware",
}


@dataclass(slots=True)
class DecoratorRewrite:
    labels: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)
    needs_context: bool = False


def _translate(name: str, value: ast.expr, text: str, out: DecoratorRewrite) -> None:
    truthy = isinstance(value, ast.Constant) and bool(value.value)
    if name == "bind":
        out.needs_context = truthy
    elif name in {"max_retries", "autoretry_for"}:
        if "retry_on_error=True" not in out.labels:
            out.labels.append("retry_on_error=True")
        key = "max_retries" if name == "max_retries" else "types_of_exceptions"
        out.labels.append(f"{key}={text}")
    elif name == "default_retry_delay":
        out.labels.append(f"delay={text}")
    elif name == "time_limit":
        out.labels.append(f"timeout={text}")
    elif name == "soft_time_limit":
        out.todos.append(f"soft_time_limit={text}: no soft limit; catch the timeout and clean up")
    elif name == "queue":
        out.labels.append(f"queue_name={text}")
        out.todos.append(f"queue_name={text}: a worker must consume this stream")
    elif name == "acks_late":
        out.labels.append(f'ack_type="{"when_executed" if truthy else "when_received"}"')
    elif name == "name":
        out.labels.append(f"task_name={text}")
    else:
        hint = _TODO_BY_OPTION.get(name, "no TaskIQ label: decide")
        out.todos.append(f"{name}={text}: {hint}")


def _param_span(source: EditableSource, task: TaskDef) -> tuple[int, int]:
    """Offsets of the text between the parentheses of `def name(...)`."""
    start = source.index(task.node.lineno, task.node.col_offset)
    tokens = tokenize.generate_tokens(io.StringIO(source.text[start:]).readline)
    depth, opened = 0, -1
    lines = source.text[start:].splitlines(keepends=True)
    for tok in tokens:
        if tok.type != tokenize.OP or tok.string not in "()":
            continue
        offset = sum(len(line) for line in lines[: tok.start[0] - 1]) + tok.start[1]
        depth += 1 if tok.string == "(" else -1
        if tok.string == "(" and depth == 1:
            opened = start + offset + 1
        elif depth == 0:
            return opened, start + offset
    raise ValueError(f"no parameter list for {task.func_name}")


def _inject_context(source: EditableSource, task: TaskDef, out: DecoratorRewrite) -> None:
    """Celery's bound `self` becomes a keyword-only TaskIQ Context parameter."""
    args = task.node.args
    positional = [*args.posonlyargs, *args.args]
    if not positional:
        return
    bound = positional[0].arg
    new_args = ast.arguments(
        posonlyargs=args.posonlyargs[1:] if args.posonlyargs else [],
        args=args.args if args.posonlyargs else args.args[1:],
        vararg=args.vararg,
        kwonlyargs=[*args.kwonlyargs, ast.arg("context", ast.Name("Context"))],
        kw_defaults=[*args.kw_defaults, ast.Call(ast.Name("TaskiqDepends"), [], [])],
        kwarg=args.kwarg,
        defaults=args.defaults,
    )
    start, end = _param_span(source, task)
    source.replace(start, end, ast.unparse(new_args))
    if any(isinstance(n, ast.Name) and n.id == bound for n in ast.walk(task.node)):
        out.todos.append(
            f"bind=True: `{bound}` is gone; use `context` (context.message.task_id, "
            "labels) and raise to retry"
        )


def _decorator_text(labels: list[str], indent: int) -> str:
    """One line when it fits the usual 100 columns, else one label per line."""
    if not labels:
        return f"{BROKER_NAME}.task"
    one_line = f"{BROKER_NAME}.task({', '.join(labels)})"
    if indent + 1 + len(one_line) <= LINE_LENGTH:
        return one_line
    pad = " " * indent
    body = "".join(f"{pad}    {label},\n" for label in labels)
    return f"{BROKER_NAME}.task(\n{body}{pad})"


def rewrite_task(
    source: EditableSource, task: TaskDef, extra_labels: list[str]
) -> DecoratorRewrite:
    out = DecoratorRewrite()
    for name, value in task.options.items():
        _translate(name, value, source.segment(value), out)
    out.labels += extra_labels
    decorator = _decorator_text(out.labels, task.decorator.col_offset - 1)
    source.replace_node(task.decorator, decorator)
    if out.needs_context:
        _inject_context(source, task, out)
    return out
