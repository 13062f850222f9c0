"""Scanner part: task definitions, signals and startup hooks, and the runtime hazards inside
them (event loops, process pools, import-time resources, swallowed errors)."""

import ast
import re

from migration_checker.facts import EngineSpec, FunctionNode, Resource, TaskDef
from migration_checker.names import dotted
from migration_checker.options import option_rule
from migration_checker.scan_base import ScanBase, int_value

__all__ = ["RuntimeScan"]

# Signal → what it becomes; the per-process startup ones also mark their handler as a hook.
SIGNALS = {
    "worker_process_init": "@broker.on_event(TaskiqEvents.WORKER_STARTUP)",
    "worker_init": "@broker.on_event(TaskiqEvents.WORKER_STARTUP)",
    "worker_ready": "@broker.on_event(TaskiqEvents.WORKER_STARTUP)",
    "celeryd_init": "@broker.on_event(TaskiqEvents.WORKER_STARTUP)",
    "worker_process_shutdown": "@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)",
    "worker_shutdown": "@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)",
    "beat_init": "@scheduler startup in the scheduler process",
    "task_prerun": "TaskiqMiddleware.pre_execute",
    "task_postrun": "TaskiqMiddleware.post_execute",
    "task_success": "TaskiqMiddleware.post_save",
    "task_failure": "TaskiqMiddleware.on_error",
    "task_retry": "SmartRetryMiddleware / on_error",
    "task_revoked": "the project's revoke hook",
    "before_task_publish": "TaskiqMiddleware.pre_send",
    "after_task_publish": "TaskiqMiddleware.post_send",
    "setup_logging": "logging configured in the worker entrypoint",
    "after_setup_logger": "logging configured in the worker entrypoint",
}
_STARTUP_SIGNALS = frozenset({"worker_process_init", "worker_init", "worker_ready", "celeryd_init"})
_PER_PROCESS_HOOKS = frozenset({"post_fork", "post_worker_init"})

_ASYNC_RESOURCES = {
    "sqlalchemy.ext.asyncio.create_async_engine": "async SQLAlchemy engine",
    "asyncio.new_event_loop": "event loop",
    "asyncio.get_event_loop": "event loop",
}
_ONE_TIME_WORK = re.compile(
    r"download|migrat|create_all|seed|bootstrap|superuser|root_user|admin_user|create_root"
    r"|create_admin|from_pretrained|load_model|urlretrieve|init_db|populate|register_",
    re.IGNORECASE,
)
_RUNNERS = frozenset({"run_scheduler_task", "run_receiver_task", "worker_main"})
_PROCESS_POOLS = frozenset({"multiprocessing.Pool", "concurrent.futures.ProcessPoolExecutor"})


def _is_async_redis(qualified: str) -> bool:
    return qualified.startswith(("redis.asyncio.", "aioredis.")) and qualified.rpartition(".")[
        2
    ] in {
        "Redis",
        "StrictRedis",
        "from_url",
        "ConnectionPool",
        "create_redis_pool",
        "RedisCluster",
    }


def _swallows(handler: ast.ExceptHandler) -> bool:
    broad = handler.type is None or (
        isinstance(handler.type, ast.Name) and handler.type.id in {"Exception", "BaseException"}
    )
    return broad and not any(isinstance(n, ast.Raise) for n in ast.walk(handler))


class RuntimeScan(ScanBase):
    def task_decorator(self, node: FunctionNode) -> ast.expr | None:
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualify(func).endswith("shared_task"):
                return decorator
            if isinstance(func, ast.Attribute) and func.attr == "task" and self.is_app(func.value):
                return decorator
        return None

    def define_task(self, node: FunctionNode, decorator: ast.expr) -> TaskDef:
        options = {
            kw.arg: kw.value
            for kw in (decorator.keywords if isinstance(decorator, ast.Call) else [])
            if kw.arg is not None
        }
        name_opt = options.get("name")
        explicit = name_opt.value if isinstance(name_opt, ast.Constant) else None
        celery_name = str(explicit) if explicit else f"{self.facts.module}.{node.name}"
        task = TaskDef(node.name, celery_name, self.facts.path, node, decorator, options)
        self.facts.tasks.append(task)
        self.emit("task-definition", node, f"task {celery_name} → @broker.task")
        for option, value in options.items():
            if (
                option == "serializer"
                and isinstance(value, ast.Constant)
                and value.value == "pickle"
            ):
                self.emit("pickle-serializer", value, f"task {node.name} uses serializer='pickle'")
            else:
                self.emit(option_rule(option), value, f"{node.name}: {option}={ast.unparse(value)}")
        return task

    def startup_hook_kind(self, node: FunctionNode) -> str | None:
        """Per-process startup hooks: Celery signals, lifespans, startup events, gunicorn."""
        if node.name in _PER_PROCESS_HOOKS and not self.scopes:
            return f"gunicorn {node.name} (runs once per worker process)"
        if "lifespan" in node.name:
            return f"lifespan {node.name} (runs once per web worker process)"
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr == "connect" and self.signal_name(func.value) in _STARTUP_SIGNALS:
                return f"{self.signal_name(func.value)} handler (runs in every worker process)"
            arg = ast.unparse(call.args[0]) if call and call.args else ""
            if func.attr == "on_event" and ("startup" in arg or "WORKER_STARTUP" in arg):
                return f"{arg} handler (runs once per process)"
        return None

    def signal_name(self, node: ast.expr) -> str | None:
        qualified = self.qualify(node)
        last = qualified.rpartition(".")[2]
        if last in SIGNALS and (
            qualified.startswith("celery") or self.imports.imports_from("celery")
        ):
            return last
        return None

    def check_signal(self, node: ast.expr, connect: ast.expr) -> None:
        name = self.signal_name(connect)
        if name is not None:
            self.emit("signal", node, f"signal {name} → {SIGNALS[name]}")

    def check_runtime_call(self, node: ast.Call, qualified: str) -> None:
        last = qualified.rpartition(".")[2]
        if last in _RUNNERS and (last != "worker_main" or self._on_app(node.func)):
            self.emit(
                "in-process-runner", node, f"{last}() runs a worker/scheduler in this process"
            )
        if qualified.endswith(("create_async_engine", "create_engine")):
            self._record_engine(node)
        if not self.scopes:
            self._check_import_time(node, qualified)
            return
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if method == "run_until_complete" or qualified == "asyncio.run":
            self._check_loop_call(node, method or last)
        task, hook = self.task, self.startup_hook
        if task is not None:
            self._check_task_call(node, qualified, method, task)
        if hook is not None and _ONE_TIME_WORK.search(last):
            self.emit("startup-one-time-work", node, f"{last}() in {hook}")

    def _check_task_call(self, node: ast.Call, qualified: str, method: str, task: TaskDef) -> None:
        task.calls.add(method or getattr(node.func, "id", ""))
        if qualified in _PROCESS_POOLS or method == "Pool":
            self.emit("process-pool-in-task", node, f"{qualified}() inside task {task.func_name}")
        if method == "retry" and dotted(node.func) == "self.retry":
            self.emit(
                "retry-call", node, "self.retry(): raise instead, and let the retry labels act"
            )

    def _on_app(self, func: ast.expr) -> bool:
        return isinstance(func, ast.Attribute) and self.is_app(func.value)

    def _check_loop_call(self, node: ast.Call, last: str) -> None:
        task = self.task
        if task is not None:
            self.emit("loop-bridge", node, f"{last}() inside task {task.func_name}")
            return
        outer = self.scopes[0].node.name
        # Helpers are judged later: only a helper that a task calls is a hazard.
        self.facts.loop_helpers.setdefault(
            outer, (node.lineno, node.col_offset + 1, self.stmt_line)
        )

    def _check_import_time(self, node: ast.Call, qualified: str) -> None:
        what = _ASYNC_RESOURCES.get(qualified)
        if what is None and _is_async_redis(qualified):
            what = "async Redis client"
        if what is not None:
            self.facts.resources.append(
                Resource(what, node.lineno, node.col_offset + 1, self.stmt_line)
            )

    def _record_engine(self, node: ast.Call) -> None:
        kwargs = {kw.arg: kw.value for kw in node.keywords}
        if "NullPool" in ast.unparse(kwargs.get("poolclass", ast.Constant(None))):
            return
        pool = int_value(kwargs.get("pool_size"))
        overflow = int_value(kwargs.get("max_overflow"))
        self.facts.engines.append(
            EngineSpec(
                node.lineno,
                node.col_offset + 1,
                self.stmt_line,
                5 if pool is None else pool,
                10 if overflow is None else overflow,
            )
        )

    def check_handler(self, handler: ast.ExceptHandler) -> None:
        task = self.task
        if task is not None and _swallows(handler):
            self.stmt_line = handler.lineno
            self.emit("swallowed-task-error", handler, f"task {task.func_name} swallows errors")
