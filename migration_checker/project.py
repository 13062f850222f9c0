"""Scan a project: read every file once, index apps and tasks, scan, add cross-file hazards.

Only files that mention something the scanner looks for (`_RELEVANT`) are parsed up front;
the rest are parsed when the call graph or the import closure of a task reaches them. On a
large Django project that is a few hundred files of thousands."""

import ast
from dataclasses import dataclass, field
from pathlib import Path

from migration_checker.facts import ModuleFacts, ProjectIndex
from migration_checker.files import iter_sources
from migration_checker.findings import Finding
from migration_checker.hazards import project_hazards
from migration_checker.names import ModuleNamer, imported_top_names
from migration_checker.parsing import SourceError, parse_source
from migration_checker.scanner import IndexPart, index_module, join_index, scan_module
from migration_checker.scripts import ScriptFacts, app_hints, scan_script

__all__ = ["ModuleLoader", "ScanResult", "scan_project"]

# Every word a finding or a hazard site needs (lower case); a file without any has nothing
# to report. Substring tests: a regex of alternatives costs more than the parse it saves.
_RELEVANT = (
    "celery",
    "shared_task",
    "periodic_task",
    ".task(",
    ".task\n",
    ".delay(",
    "apply_async",
    "asyncresult",
    ".revoke(",
    "create_engine",
    "create_async_engine",
    "asyncio",
    "run_until_complete",
    "run_coroutine_threadsafe",
    "redis",
    "multiprocessing",
    "processpool",
    ".pool(",
    "lifespan",
    "on_event",
    "post_fork",
    "post_worker_init",
    "worker_main",
    "run_scheduler_task",
    "run_receiver_task",
    "pickle",
    "subprocess",
    "os.system",
    "requests.",
    "urllib",
    "httpx",
    "time.sleep",
    "socket.create_connection",
    "smtplib",
    "broker_",
    "result_backend",
    "result_expires",
    "beat_schedule",
    "task_serializer",
    "accept_content",
    "worker_concurrency",
)


def _relevant(text: str) -> bool:
    lower = text.lower()
    return any(word in lower for word in _RELEVANT)


@dataclass(slots=True)
class ScanResult:
    root: Path
    index: ProjectIndex = field(default_factory=ProjectIndex)
    findings: list[Finding] = field(default_factory=list)
    modules: list[ModuleFacts] = field(default_factory=list)
    python_files: int = 0
    script_files: int = 0
    lines: int = 0


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@dataclass(slots=True)
class ModuleLoader:
    """Modules by name: the scanned ones, and the others parsed on first request."""

    index: ProjectIndex
    scanned: dict[str, ModuleFacts]
    # Module name → (relative path, file) of a file not parsed yet.
    deferred: dict[str, tuple[str, Path]]

    def get(self, module: str) -> ModuleFacts | None:
        facts = self.scanned.get(module)
        if facts is not None or module not in self.deferred:
            return facts
        rel, path = self.deferred.pop(module)
        try:
            parsed = parse_source(_read(path), rel)
        except SourceError:
            return None
        facts = scan_module(ModuleFacts(rel, module, "", parsed.tree), self.index)
        # Only its imports and call graph are wanted: keep neither text nor tree.
        facts.tree = ast.Module(body=[], type_ignores=[])
        self.scanned[module] = facts
        return facts


def scan_project(root: Path) -> ScanResult:
    result = ScanResult(root)
    scripts = ScriptFacts()
    relevant: list[tuple[str, Path, str]] = []
    deferred: list[tuple[str, Path]] = []
    namespaces: set[str] = set()
    for source in iter_sources(root):
        text = _read(source.path)
        result.lines += text.count("\n")
        if not source.is_python:
            result.script_files += 1
            result.findings += scan_script(source.rel, text, scripts)
            namespaces |= app_hints(text)
            continue
        result.python_files += 1
        if _relevant(text):
            relevant.append((source.rel, source.path, text))
            namespaces |= imported_top_names(text)
        else:
            deferred.append((source.rel, source.path))
    base = root if root.is_dir() else root.parent
    namer = ModuleNamer(base, namespaces)
    parts: list[IndexPart] = []
    parsed: list[ModuleFacts] = []
    for rel, _, text in relevant:
        try:
            module = parse_source(text, rel)
        except SourceError as exc:
            message = f"not scanned: {exc.message}"
            result.findings.append(Finding("parse-error", rel, exc.line, 1, message, exc.line))
            continue
        parts.append(index_module(module.tree, text))
        facts = ModuleFacts(rel, namer.name(rel), text, module.tree, lowered=module.lowered)
        parsed.append(facts)
    index = result.index = join_index(parts)
    for facts in parsed:
        scan_module(facts, index)
        result.modules.append(facts)
        result.findings += facts.findings
    loader = ModuleLoader(
        index,
        {facts.module: facts for facts in result.modules},
        {namer.name(rel): (rel, path) for rel, path in deferred},
    )
    result.findings += project_hazards(result.modules, scripts, loader)
    result.findings.sort(key=lambda f: f.sort_key)
    return result
