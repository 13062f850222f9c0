"""Scanner part: Celery apps, their configuration, settings modules and beat schedules."""

import ast

from migration_checker.facts import BeatEntry
from migration_checker.scan_base import ScanBase
from migration_checker.settings import canonical_setting, is_celery_setting, setting_rule

__all__ = ["ConfigScan"]

_NEVER = (None, 0)


def _mentions_pickle(node: ast.expr | None) -> bool:
    if node is None:
        return False
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and "pickle" in n.value
        for n in ast.walk(node)
    )


def _is_setting_target(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and is_celery_setting(target.id)


class ConfigScan(ScanBase):
    def scan_settings_module(self, tree: ast.Module) -> None:
        """Top-level assignments of Celery setting names make a settings module."""
        assigns = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and any(map(_is_setting_target, node.targets))
        ]
        names = [t.id for node in assigns for t in node.targets if isinstance(t, ast.Name)]
        prefixed = any(name.upper().startswith("CELERY") for name in names)
        if not assigns or not (prefixed or len(names) >= 2):
            return
        self.stmt_line = assigns[0].lineno
        self.emit("settings-module", assigns[0], f"Celery settings ({', '.join(names[:6])}…)")
        for node in assigns:
            self.stmt_line = node.lineno
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.record_setting(target.id, node.value, target)

    def check_config_call(self, node: ast.Call, qualified: str) -> None:
        func = node.func
        if qualified in {"celery.Celery", "celery.app.Celery"}:
            self.emit("celery-app", node, "Celery(...) app → a TaskIQ broker + result backend")
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
            self.emit("config-from-object", node, "config_from_object → one BaseSettings class")
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

    def record_setting(self, name: str, value: ast.expr, node: ast.AST) -> None:
        key = canonical_setting(name)
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
        if key == "timezone" and isinstance(value, ast.Constant) and isinstance(value.value, str):
            self.facts.timezone = value.value
        rule_id = setting_rule(key)
        self.emit(rule_id, node, f"setting {name}")

    def _record_beat(self, schedule: ast.Dict) -> None:
        self.facts.beat_assign_line = self.stmt_line
        for key, value in zip(schedule.keys, schedule.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(value, ast.Dict)):
                continue
            task = next(
                (
                    v.value
                    for k, v in zip(value.keys, value.values, strict=True)
                    if isinstance(k, ast.Constant)
                    and k.value == "task"
                    and isinstance(v, ast.Constant)
                    and isinstance(v.value, str)
                ),
                "",
            )
            entry = BeatEntry(str(key.value), task, value, key.lineno)
            self.facts.beat_entries.append(entry)
            self.emit("beat-schedule", key, f"beat entry {entry.name!r} runs {task or '?'}")
