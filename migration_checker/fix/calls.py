"""Rewrite task calls where it is mechanical: on a known task inside an `async def`,
`.delay()` becomes `await task.kiq()`, `.apply_async(args, kwargs, countdown=..., queue=...)`
becomes `await apply_async(task, args, kwargs, ...)` (taskiq_durable.calling), and `.get()` on
such a
result becomes `wait_result()`. Anywhere else the caller needs a decision, so it gets a TODO."""

import ast
from dataclasses import dataclass, field

from migration_checker.fix.source import EditableSource
from migration_checker.fix.target import APPLY_ASYNC, Import, queue_todo

__all__ = ["CallFixer", "NodeIndex"]

_WRAPPED_PARENTS = (ast.Attribute, ast.Subscript, ast.Call, ast.BinOp, ast.UnaryOp, ast.Await)
# Options taskiq_durable.calling.apply_async takes as Celery does. link/link_error take its
# `sig(...)`
# signatures, not Celery's `.s()`, so they are left to a human.
_APPLY_OPTIONS = frozenset({"args", "kwargs", "countdown", "eta", "expires", "queue", "task_id"})


@dataclass(slots=True)
class NodeIndex:
    """Calls by position, with their parent and enclosing function, from one walk."""

    calls: dict[tuple[int, int, str], ast.Call] = field(default_factory=dict)
    parents: dict[int, ast.AST] = field(default_factory=dict)
    functions: dict[int, ast.AST] = field(default_factory=dict)

    @classmethod
    def build(cls, tree: ast.Module) -> "NodeIndex":
        index = cls()
        stack: list[tuple[ast.AST, ast.AST | None]] = [(tree, None)]
        while stack:
            node, function = stack.pop()
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                # `a.delay().get()`: both calls start at one column, so the method is keyed too.
                index.calls[(node.lineno, node.col_offset + 1, node.func.attr)] = node
                if function is not None:
                    index.functions[id(node)] = function
            inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else function
            for child in ast.iter_child_nodes(node):
                index.parents[id(child)] = node
                stack.append((child, inner))
        return index


@dataclass(slots=True)
class CallFixer:
    source: EditableSource
    nodes: NodeIndex
    task_names: frozenset[str]
    # (function, variable) pairs now holding an AsyncTaskiqTask.
    kicked: set[tuple[int, str]] = field(default_factory=set)
    imports: set[Import] = field(default_factory=set)
    # TODOs about calls that were rewritten all the same; the fixer drains them.
    notes: list[str] = field(default_factory=list)

    def _receiver_is_task(self, call: ast.Call) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return False
        receiver = func.value
        name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
        return name in self.task_names

    def _async_function(self, call: ast.Call) -> ast.AST | None:
        function = self.nodes.functions.get(id(call))
        return function if isinstance(function, ast.AsyncFunctionDef) else None

    def kick(self, line: int, column: int) -> str | None:
        """Rewrite a `.delay`/`.apply_async` call; the reason it was left alone otherwise."""
        call = self.nodes.calls.get((line, column, "delay")) or self.nodes.calls.get(
            (line, column, "apply_async")
        )
        if call is None or not isinstance(call.func, ast.Attribute):
            return "not a task call"
        function = self._async_function(call)
        if not self._receiver_is_task(call):
            return "receiver is not a task defined in this project"
        if function is None:
            return "caller is sync: make it async and await .kiq(), or keep a sync path"
        receiver = self.source.segment(call.func.value)
        if call.func.attr == "delay":
            arguments = ", ".join(self.source.segment(a) for a in [*call.args, *call.keywords])
            kicked = f"{receiver}.kiq({arguments})"
        else:
            built = self._apply_async(call, receiver)
            if built is None:
                return "apply_async options (link/link_error/...) need a decision"
            kicked = built
        parent = self.nodes.parents.get(id(call))
        text = f"await {kicked}"
        self.source.replace_node(
            call, f"({text})" if isinstance(parent, _WRAPPED_PARENTS) else text
        )
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
            if isinstance(target, ast.Name):
                self.kicked.add((id(function), target.id))
                self._rename_id(function, target.id)
        return None

    def _rename_id(self, function: ast.AST, name: str) -> None:
        """Celery's `result.id` is `task_id` on the AsyncTaskiqTask a kick returns."""
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "id"
                and isinstance(node.value, ast.Name)
                and node.value.id == name
            ):
                self.source.replace_node(node, f"{name}.task_id")

    def _apply_async(self, call: ast.Call, receiver: str) -> str | None:
        keywords = {kw.arg: kw.value for kw in call.keywords}
        if None in keywords or not _APPLY_OPTIONS.issuperset(keywords) or len(call.args) > 2:
            return None
        segment = self.source.segment
        positional = [segment(a) for a in call.args]
        args = segment(keywords.pop("args")) if "args" in keywords else None
        kwargs = segment(keywords.pop("kwargs")) if "kwargs" in keywords else None
        args = args or (positional[0] if positional else None)
        kwargs = kwargs or (positional[1] if len(positional) > 1 else None)
        parts = [receiver]
        if args is not None:
            parts.append(args)
        if kwargs is not None:
            parts.append(kwargs if args is not None else f"kwargs={kwargs}")
        parts += [f"{name}={segment(value)}" for name, value in keywords.items()]
        queue = keywords.get("queue")
        todo = queue_todo(segment(queue)) if queue is not None else None
        if todo is not None:
            self.notes.append(todo)
        self.imports.add(APPLY_ASYNC)
        return f"{APPLY_ASYNC.name}({', '.join(parts)})"

    def result_get(self, line: int, column: int) -> str | None:
        call = self.nodes.calls.get((line, column, "get"))
        if call is None or not isinstance(call.func, ast.Attribute):
            return "result API without a direct TaskIQ equivalent"
        function = self._async_function(call)
        receiver = call.func.value
        if not isinstance(receiver, ast.Name):
            return "get() on an expression: rewrite by hand"
        if function is None or (id(function), receiver.id) not in self.kicked:
            return "result of a call that was not rewritten"
        if call.args or any(kw.arg != "timeout" for kw in call.keywords):
            return "get() options other than timeout"
        timeout = ", ".join(self.source.segment(kw) for kw in call.keywords)
        replacement = f"(await {receiver.id}.wait_result({timeout})).raise_for_error().return_value"
        self.source.replace_node(call, replacement)
        return None
