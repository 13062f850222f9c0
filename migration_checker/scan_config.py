"""Scanner part: Celery apps, their configuration, settings modules and beat schedules."""

import ast

from migration_checker.facts import BeatEntry
from migration_checker.scan_base import ScanBase
from migration_checker.settings import (
    canonical_setting,
    celery_setting,
    setting_note,
    setting_rule,
)

__all__ = ["ConfigScan"]

_NEVER = (None, 0)
_BEAT_KEYS = frozenset({"task", "schedule", "args", "kwargs"})


def _mentions_pickle(node: ast.expr | None) -> bool:
    if node is None:
        return False
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and "pickle" in n.value
        for n in ast.walk(node)
    )


def _assignments(tree: ast.Module) -> list[tuple[ast.Name, ast.expr, ast.stmt]]:
    """Top-level `name = value` and `name: T = value` (plain and annotated, as Celery reads a
    settings module: by attribute, whatever the annotation)."""
    found: list[tuple[ast.Name, ast.expr, ast.stmt]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            found += [(t, node.value, node) for t in node.targets if isinstance(t, ast.Name)]
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and isinstance(node.target, ast.Name)
        ):
            found.append((node.target, node.value, node))
    return found


class ConfigScan(ScanBase):
    def scan_settings_module(self, tree: ast.Module) -> None:
        """Top-level assignments of Celery setting names make a settings module."""
        assigns = _assignments(tree)
        self.constants = {
            target.id: value.value
            for target, value, _ in assigns
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
        }
        if "TIME_ZONE" in self.constants:
            self.facts.django_time_zone = self.constants["TIME_ZONE"]
        settings = [
            (target, value, node)
            for target, value, node in assigns
            if celery_setting(target.id, self.index.namespaces) is not None
        ]
        names = [target.id for target, _, _ in settings]
        prefixed = any(name.upper().startswith("CELERY") for name in names)
        if not settings or not (prefixed or len(names) >= 2):
            return
        self.stmt_line = settings[0][2].lineno
        self.emit("settings-module", settings[0][0], f"Celery settings ({', '.join(names[:6])}…)")
        for target, value, node in settings:
            self.stmt_line = node.lineno
            self.record_setting(
                target.id, value, target, celery_setting(target.id, self.index.namespaces)
            )

    def check_config_call(self, node: ast.Call, qualified: str) -> None:
        func = node.func
        if qualified in {"celery.Celery", "celery.app.Celery"} or (
            qualified.rpartition(".")[2] in self.index.app_classes
        ):
            self.emit("celery-app", node, "Celery(...) app")
            for kw in node.keywords:
                if kw.arg in {"broker", "backend", "include"}:
                    continue
                if kw.arg is not None:
                    self.record_setting(kw.arg, kw.value, kw.value)
            return
        if qualified.endswith("RedisAsyncResultBackend"):
            keys = {kw.arg for kw in node.keywords}
            if not keys & {"result_ex_time", "result_px_time"}:
                self.emit(
                    "results-never-expire",
                    node,
                    "RedisAsyncResultBackend without result_ex_time keeps every result forever",
                )
            return
        if qualified.endswith("PickleSerializer"):
            self.emit("pickle-serializer", node, "PickleSerializer on a TaskIQ broker/backend")
            return
        if not isinstance(func, ast.Attribute):
            return
        if func.attr == "config_from_object" and self.is_app(func.value):
            self.emit(
                "config-from-object",
                node,
                f"config_from_object({ast.unparse(node.args[0]) if node.args else ''})",
            )
        elif func.attr == "add_periodic_task":
            self._periodic_call(node)
        elif func.attr == "update" and self._is_conf(func.value):
            for kw in node.keywords:
                if kw.arg is not None:
                    self.record_setting(kw.arg, kw.value, kw.value)
            if node.args and isinstance(node.args[0], ast.Dict):
                self._record_dict(node.args[0])

    def check_config_assign(self, target: ast.expr, value: ast.expr) -> None:
        """`app.conf.x = v`, `app.conf["x"] = v` and `app.conf.beat_schedule = {...}`."""
        if isinstance(target, ast.Attribute) and self._is_conf(target.value):
            self.record_setting(target.attr, value, target)
        elif (
            isinstance(target, ast.Subscript)
            and self._is_conf(target.value)
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            self.record_setting(target.slice.value, value, target)

    def _is_conf(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "conf" and self.is_app(node.value)

    def _record_dict(self, mapping: ast.Dict) -> None:
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.record_setting(key.value, value, key)

    def _periodic_call(self, node: ast.Call) -> None:
        """`sender.add_periodic_task(10.0, add.s(1, 2), name="add")`, usually in an
        `on_after_configure` / `on_after_finalize` hook."""
        given = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        schedule = node.args[0] if node.args else given.get("schedule")
        signature = node.args[1] if len(node.args) > 1 else given.get("sig")
        task, args, kwargs = "", None, None
        if (
            isinstance(signature, ast.Call)
            and isinstance(signature.func, ast.Attribute)
            and signature.func.attr in {"s", "si", "signature"}
        ):
            task = self.qualify(signature.func.value)
            args = ast.Tuple(signature.args) if signature.args else None
            kw = [k for k in signature.keywords if k.arg is not None]
            if kw:
                kwargs = ast.Dict([ast.Constant(k.arg) for k in kw], [k.value for k in kw])
        label = given.get("name")
        name = str(label.value) if isinstance(label, ast.Constant) else task or "?"
        options = tuple(k for k in given if k not in {"name", "schedule", "sig"})
        entry = BeatEntry(name, task, schedule, args, kwargs, options, node.lineno, self.stmt_line)
        self.facts.beat_entries.append(entry)
        self.emit("beat-schedule", node, f"add_periodic_task {name!r} runs {task or '?'}")

    def record_setting(
        self, name: str, value: ast.expr, node: ast.AST, key: str | None = None
    ) -> None:
        """`key`: the canonical name when the caller knows it (a namespaced Django setting)."""
        key = key or canonical_setting(name)
        self.facts.settings.add(key)
        is_serializer = key.endswith("serializer") or key == "accept_content"
        if is_serializer and _mentions_pickle(value):
            self.emit("pickle-serializer", node, f"{name} allows pickle")
            return
        if key == "result_expires" and isinstance(value, ast.Constant) and value.value in _NEVER:
            self.emit("results-never-expire", node, f"{name}={value.value!r}: results never expire")
            return
        if key == "beat_schedule" and isinstance(value, ast.Dict):
            self._record_beat(value)
            return
        if key == "timezone":
            self._record_timezone(value)
        rule_id = setting_rule(key)
        self.emit(rule_id, node, f"setting {name}{setting_note(key, value)}")

    def _record_timezone(self, value: ast.expr) -> None:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            self.facts.timezone = value.value
        elif isinstance(value, ast.Name) and value.id in self.constants:
            self.facts.timezone = self.constants[value.id]
        else:
            self.facts.timezone_source = ast.unparse(value)

    def _record_beat(self, schedule: ast.Dict) -> None:
        for key, value in zip(schedule.keys, schedule.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(value, ast.Dict)):
                continue
            fields = {
                str(k.value): v
                for k, v in zip(value.keys, value.values, strict=True)
                if isinstance(k, ast.Constant)
            }
            given = fields.get("task")
            task = str(given.value) if isinstance(given, ast.Constant) else ""
            options = tuple(k for k in fields if k not in _BEAT_KEYS)
            if None in value.keys:
                options += ("**",)
            entry = BeatEntry(
                str(key.value),
                task,
                fields.get("schedule"),
                fields.get("args"),
                fields.get("kwargs"),
                options,
                key.lineno,
                self.stmt_line,
            )
            self.facts.beat_entries.append(entry)
            self.emit("beat-schedule", key, f"beat entry {entry.name!r} runs {task or '?'}")
