"""The Python scanner: one AST walk per module that finds Celery constructs and hazards.

The scanned code is parsed, never imported or run. The walk itself lives here; what each node
means is decided by the parts it inherits (config, calls, runtime)."""

import ast
from dataclasses import dataclass, field

from migration_checker.facts import FunctionNode, ModuleFacts, ProjectIndex
from migration_checker.names import ImportTable
from migration_checker.scan_base import TASK_DECORATORS, first_line
from migration_checker.scan_calls import CallScan
from migration_checker.scan_config import ConfigScan
from migration_checker.scan_runtime import RuntimeScan
from migration_checker.scripts import scan_command_text

__all__ = ["IndexPart", "index_module", "join_index", "scan_module"]

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


@dataclass(slots=True)
class IndexPart:
    """What pass one finds in one module; `ProjectIndex` joins the parts of every module, so
    that an app made by another module's factory or subclass is still an app."""

    # (name bound, last segment of the callee) for `name = callee(...)` at top level.
    assigned: list[tuple[str, str]] = field(default_factory=list)
    tasks: set[str] = field(default_factory=set)
    app_classes: set[str] = field(default_factory=set)
    # Functions that build and return an app (`def make_celery(app): ... return celery`).
    factories: set[str] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)


def _callee(node: ast.expr) -> str:
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def index_module(tree: ast.Module, text: str) -> IndexPart:
    """Pass one: names bound to apps, functions that look like tasks, app classes and
    factories, so that pass two can recognise `other_module.task.delay()` anywhere. `text`
    is the source: whole-tree walks run only where it names what they look for."""
    part = IndexPart()
    if "namespace" in text:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) == "config_from_object":
                for kw in node.keywords:
                    if kw.arg == "namespace" and isinstance(kw.value, ast.Constant):
                        part.namespaces.add(str(kw.value.value))
    maker = "Celery(" in text
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    part.assigned.append((target.id, _callee(node.value)))
        elif isinstance(node, ast.ClassDef):
            if any(_callee(base) == "Celery" for base in node.bases):
                part.app_classes.add(node.name)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(_callee(d) in TASK_DECORATORS for d in node.decorator_list):
                part.tasks.add(node.name)
            builds = maker and any(
                isinstance(n, ast.Call) and _callee(n) == "Celery" for n in ast.walk(node)
            )
            if builds and any(isinstance(n, ast.Return) for n in ast.walk(node)):
                part.factories.add(node.name)
    return part


def join_index(parts: list[IndexPart]) -> ProjectIndex:
    classes = {name for part in parts for name in part.app_classes}
    makers = {"Celery"} | classes | {name for part in parts for name in part.factories}
    apps = {name for part in parts for name, callee in part.assigned if callee in makers}
    return ProjectIndex(
        app_names=frozenset(apps),
        task_names=frozenset(name for part in parts for name in part.tasks),
        app_classes=frozenset(classes),
        namespaces=frozenset(name for part in parts for name in part.namespaces),
    )


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
            self.emit("eager-testing", node, "celery.contrib test helpers")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        is_app = any(
            self.qualify(base) in {"celery.Celery", "celery.app.Celery"}
            or self.qualify(base).rpartition(".")[2] in self.index.app_classes
            for base in node.bases
        )
        self.classes.append((node.name, is_app))
        self.generic_visit(node)
        self.classes.pop()

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


def scan_module(facts: ModuleFacts, index: ProjectIndex) -> ModuleFacts:
    """Fill `facts` (path, module name, source and tree already set) from one walk."""
    imports = ImportTable(facts.module, facts.path.endswith("__init__.py"))
    imports.define(
        (
            node.name
            for node in facts.tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
        facts.module,
    )
    scanner = ModuleScanner(facts, index, imports)
    scanner.scan_settings_module(facts.tree)
    scanner.visit(facts.tree)
    facts.imports = imports.imported
    facts.aliases = imports.aliases
    return facts
