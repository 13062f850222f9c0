"""`bind=True`: Celery's bound `self` becomes the dependencies it was used for.

`self.request.retries` → `retries.retries`, with `retries: Retries = TaskiqDepends()`
(taskiq_durable.retry); `self.request.id` → `context.message.task_id`, with
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
    # Lines of the `self.retry(...)` statements rewritten to `raise`.
    retry_lines: set[int] = field(default_factory=set)


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
    source: EditableSource, task: TaskDef, bound: str, out: BindRewrite, covered: set[int]
) -> list[Import]:
    """Replace `self.request.*` uses outside `covered`; the parameters they need, in a
    stable order."""
    needed: dict[Import, None] = {}
    others: set[str] = set()
    prefix = f"{bound}.request."
    for node in ast.walk(task.node):
        if not isinstance(node, ast.Attribute) or id(node) in covered:
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
            "or `retries: Retries` (taskiq_durable.retry), and raise to retry"
        )
    return list(needed)


def _retry_raise(call: ast.Call, in_handler: bool) -> str | None:
    """`raise self.retry(exc=exc, ...)` → `raise exc`; a bare `self.retry()` in an `except`
    block → `raise`. The retry labels then do what the call's options did."""
    exc = next((kw.value for kw in call.keywords if kw.arg == "exc"), None)
    if exc is None and call.args:
        exc = call.args[0]
    if isinstance(exc, ast.Name):
        return f"raise {exc.id}"
    return "raise" if exc is None and in_handler else None


def _rewrite_retries(
    source: EditableSource, task: TaskDef, bound: str, lines: set[int]
) -> set[int]:
    """Rewrite the `self.retry(...)` statements that can be; the ids of the nodes inside
    them, which no other edit may touch."""
    replaced: set[int] = set()

    def walk(node: ast.AST, in_handler: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            value = child.exc if isinstance(child, ast.Raise) else None
            if isinstance(child, ast.Expr):
                value = child.value
            if (
                isinstance(child, ast.stmt)
                and isinstance(value, ast.Call)
                and dotted(value.func) == f"{bound}.retry"
                and (text := _retry_raise(value, in_handler)) is not None
            ):
                source.replace_node(child, text)
                lines.add(child.lineno)
                replaced.update(id(n) for n in ast.walk(child))
                continue
            walk(child, in_handler or isinstance(child, ast.ExceptHandler))

    for stmt in task.node.body:
        walk(ast.Module(body=[stmt], type_ignores=[]), False)
    return replaced


def rewrite_bound_self(source: EditableSource, task: TaskDef) -> BindRewrite:
    """Drop the bound first parameter and add keyword-only dependencies for its uses."""
    out = BindRewrite()
    args = task.node.args
    positional = [*args.posonlyargs, *args.args]
    if not positional:
        return out
    bound = positional[0].arg
    replaced = _rewrite_retries(source, task, bound, out.retry_lines)
    needed = _rewrite_uses(source, task, bound, out, replaced)
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
