"""`bind=True`: Celery's bound `self` becomes the dependencies it was used for.

`self.request.retries` → `retries.retries`, with `retries: Retries = TaskiqDepends()`
(tasks/retry.py); `self.request.id` → `context.message.task_id`, with
`context: Context = TaskiqDepends()`.
`self.retry(...)` is left to its own finding's TODO (raise instead); any other use of `self`
gets a `context` parameter and a TODO."""

import ast
import io
import tokenize
from dataclasses import dataclass, field

from migration_checker.facts import TaskDef
from migration_checker.fix.source import EditableSource
from migration_checker.fix.target import CONTEXT, DEPENDS, RETRIES, Import
from migration_checker.names import dotted

__all__ = ["BindRewrite", "rewrite_bound_self"]

# `self.request.<attribute>` → (replacement, the parameter it needs).
_REQUEST = {
    "retries": ("retries.retries", RETRIES),
    "id": ("context.message.task_id", CONTEXT),
}
_PARAMETER = {RETRIES: "retries", CONTEXT: "context"}


@dataclass(slots=True)
class BindRewrite:
    imports: set[Import] = field(default_factory=set)
    todos: list[str] = field(default_factory=list)


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


def _rewrite_uses(
    source: EditableSource, task: TaskDef, bound: str, out: BindRewrite
) -> list[Import]:
    """Replace `self.request.*` uses; the parameters they need, in a stable order."""
    needed: dict[Import, None] = {}
    covered: set[int] = set()
    others: set[str] = set()
    prefix = f"{bound}.request."
    for node in ast.walk(task.node):
        if not isinstance(node, ast.Attribute):
            continue
        name = dotted(node) or ""
        request = _REQUEST.get(name[len(prefix) :]) if name.startswith(prefix) else None
        if request is not None and isinstance(node.value, ast.Attribute):
            source.replace_node(node, request[0])
            needed[request[1]] = None
            covered.add(id(node.value.value))
        elif name == f"{bound}.retry":
            covered.add(id(node.value))
    for node in ast.walk(task.node):
        if isinstance(node, ast.Name) and node.id == bound and id(node) not in covered:
            others.add(ast.get_source_segment(source.text, node) or bound)
    if others:
        needed[CONTEXT] = None
        out.todos.append(
            f"bind=True: `{bound}` is gone; use `context` (context.message.task_id, labels) "
            "or `retries: Retries` (tasks/retry.py), and raise to retry"
        )
    return list(needed)


def rewrite_bound_self(source: EditableSource, task: TaskDef) -> BindRewrite:
    """Drop the bound first parameter and add keyword-only dependencies for its uses."""
    out = BindRewrite()
    args = task.node.args
    positional = [*args.posonlyargs, *args.args]
    if not positional:
        return out
    bound = positional[0].arg
    needed = _rewrite_uses(source, task, bound, out)
    extra = [ast.arg(_PARAMETER[dep], ast.Name(dep.name)) for dep in needed]
    new_args = ast.arguments(
        posonlyargs=args.posonlyargs[1:] if args.posonlyargs else [],
        args=args.args if args.posonlyargs else args.args[1:],
        vararg=args.vararg,
        kwonlyargs=[*args.kwonlyargs, *extra],
        kw_defaults=[*args.kw_defaults, *(ast.Call(ast.Name(DEPENDS.name), [], []) for _ in extra)],
        kwarg=args.kwarg,
        defaults=args.defaults,
    )
    start, end = _param_span(source, task)
    source.replace(start, end, ast.unparse(new_args))
    out.imports |= {*needed, DEPENDS} if needed else set()
    return out
