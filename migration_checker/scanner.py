"""The Python scanner: one AST walk per module that finds Celery constructs and hazards.

The scanned code is parsed, never imported or run. The walk itself lives here; what each node
means is decided by the parts it inherits (config, calls, runtime)."""

import ast

from migration_checker.facts import FunctionNode, ModuleFacts, ProjectIndex
from migration_checker.names import ImportTable, module_name
from migration_checker.scan_base import first_line
from migration_checker.scan_calls import CallScan
from migration_checker.scan_config import ConfigScan
from migration_checker.scan_runtime import RuntimeScan
from migration_checker.scripts import scan_command_text

__all__ = ["index_module", "scan_module"]

_SUBPROCESS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.Popen",
        "subprocess.check_output",
        "os.system",
    }
)


def index_module(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Pass one, top level only: names bound to `Celery(...)` and functions that look like
    tasks, so that pass two can recognise `other_module.task.delay()` anywhere."""
    apps: set[str] = set()
    tasks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if callee == "Celery":
                apps.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in {"task", "shared_task"}:
                    tasks.add(node.name)
    return apps, tasks


class ModuleScanner(ConfigScan, CallScan, RuntimeScan):
    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt):
            outer = self.stmt_line
            self.stmt_line = first_line(node)
            super().visit(node)
            self.stmt_line = outer
        else:
            super().visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.imports.add(node)
        self._check_testing_import([a.name for a in node.names], node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.imports.add(node)
        self._check_testing_import([node.module or ""], node)

    def _check_testing_import(self, modules: list[str], node: ast.stmt) -> None:
        if any(m.startswith("celery.contrib.") for m in modules):
            self.emit("eager-testing", node, "celery.contrib test helpers → InMemoryBroker")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def _visit_function(self, node: FunctionNode) -> None:
        decorator = self.task_decorator(node)
        task = self.define_task(node, decorator) if decorator is not None else None
        for dec in node.decorator_list:
            func = dec.func if isinstance(dec, ast.Call) else dec
            if isinstance(func, ast.Attribute) and func.attr == "connect":
                self.check_signal(dec, func.value)
        hook = self.startup_hook_kind(node)
        for child in [*node.decorator_list, node.args]:
            self.visit(child)
        self.enter_function(node, task, hook)
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_config_assign(target, node.value)
            self.remember_result(target, node.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        qualified = self.qualify(node.func)
        self.check_config_call(node, qualified)
        self.check_call(node, qualified)
        self.check_runtime_call(node, qualified)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "connect" and node.args:
            self.check_signal(node, func.value)
        if qualified in _SUBPROCESS:
            self._check_command(node)
        self.generic_visit(node)

    def _check_command(self, node: ast.Call) -> None:
        words = [
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        for rule_id, _, message in scan_command_text(" ".join(words)):
            self.emit(rule_id, node, message)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.check_attribute(node)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        operands = self.check_pipe(node)
        for child in operands or [node.left, node.right]:
            self.visit(child)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.check_handler(node)
        self.generic_visit(node)


def scan_module(rel_path: str, source: str, index: ProjectIndex, tree: ast.Module) -> ModuleFacts:
    module = module_name(rel_path)
    facts = ModuleFacts(rel_path, module, source, tree)
    imports = ImportTable(module, rel_path.endswith("__init__.py"))
    scanner = ModuleScanner(facts, index, imports)
    scanner.scan_settings_module(tree)
    scanner.visit(tree)
    facts.imports = imports.imported
    return facts
