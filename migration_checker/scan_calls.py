"""Scanner part: calling tasks, canvas, results and revoke."""

import ast

from migration_checker.names import dotted
from migration_checker.scan_base import ScanBase

__all__ = ["CallScan"]

_CANVAS = frozenset({"chain", "group", "chord", "chunks", "starmap", "xmap"})
_SIGNATURE_METHODS = frozenset({"s", "si", "signature"})
_RESULT_METHODS = frozenset({"get", "ready", "successful", "failed", "wait", "forget", "then"})
_RESULT_ATTRS = frozenset({"state", "status", "result", "info", "traceback", "children"})
_APPLY_TIMING = frozenset({"countdown", "eta", "expires"})


class CallScan(ScanBase):
    def is_celery_module(self) -> bool:
        return self.imports.imports_from("celery") or bool(self.index.task_names)

    def is_result_call(self, node: ast.expr) -> bool:
        """Expressions that evaluate to a Celery AsyncResult."""
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in {"delay", "apply_async"}:
            return True
        return self.qualify(func).endswith("AsyncResult")

    def is_signature(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _SIGNATURE_METHODS:
            return self.is_known_task(func.value)
        return self.qualify(func).rpartition(".")[2] in _CANVAS | {"signature"}

    def remember_result(self, target: ast.expr, value: ast.expr) -> None:
        scope = self.scope
        if scope is not None and isinstance(target, ast.Name) and self.is_result_call(value):
            scope.result_vars.add(target.id)

    def _is_result(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            scope = self.scope
            return scope is not None and node.id in scope.result_vars
        return self.is_result_call(node)

    def check_call(self, node: ast.Call, qualified: str) -> None:
        func = node.func
        last = qualified.rpartition(".")[2]
        if qualified.startswith("celery") and last in _CANVAS:
            self.emit("canvas", node, f"{last}(...)")
        elif qualified in {"celery.signature", "celery.canvas.signature"}:
            self.emit("signature", node, "signature(...)")
        elif last == "AsyncResult" and (qualified.startswith("celery") or self._app_attr(func)):
            self.emit("async-result", node, "AsyncResult(id)")
        if isinstance(func, ast.Attribute):
            self._check_method(node, func)

    def _app_attr(self, func: ast.expr) -> bool:
        return isinstance(func, ast.Attribute) and self.is_app(func.value)

    def _check_method(self, node: ast.Call, func: ast.Attribute) -> None:
        receiver = func.value
        name = dotted(receiver) or "…"
        attr = func.attr
        known = self.is_known_task(receiver)
        if attr == "delay" and (known or self.is_celery_module()):
            where = "async def: mechanical" if self.in_async_function else "sync caller: decide"
            self.emit("delay", node, f"{name}.delay() ({where})")
        elif attr == "apply_async" and (known or self.is_celery_module()):
            options = sorted(
                kw.arg for kw in node.keywords if kw.arg not in {None, "args", "kwargs"}
            )
            timing = _APPLY_TIMING.intersection(options)
            detail = f" options {', '.join(options)}" if options else ""
            hint = "; with countdown/eta" if timing else ""
            self.emit("apply-async", node, f"{name}.apply_async(){detail}{hint}")
        elif attr in _SIGNATURE_METHODS and known:
            self.emit("signature", node, f"{name}.{attr}(...)")
        elif attr == "apply" and known:
            self.emit("eager-testing", node, f"{name}.apply() runs eagerly")
        elif attr == "revoke" and (self._is_result(receiver) or self._is_control(receiver)):
            self.emit("revoke", node, f"{name}.revoke()")
        elif attr in _RESULT_METHODS and self._is_result(receiver):
            self.emit("result-access", node, f"result .{attr}()")

    def _is_control(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Attribute) and node.attr == "control" and self.is_app(node.value)
        )

    def check_attribute(self, node: ast.Attribute) -> None:
        if (
            node.attr in _RESULT_ATTRS
            and isinstance(node.ctx, ast.Load)
            and self._is_result(node.value)
        ):
            self.emit("result-access", node, f"result .{node.attr}")

    def check_pipe(self, node: ast.BinOp) -> list[ast.expr]:
        """`a.s() | b.s() | c.s()`: report the outermost `|` once, return its operands."""
        operands = pipe_operands(node)
        if len(operands) < 2 or not any(self.is_signature(o) for o in operands):
            return []
        self.emit("canvas", node, f"`|` chain of {len(operands)} signatures")
        return operands


def pipe_operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return pipe_operands(node.left) + pipe_operands(node.right)
    return [node]
