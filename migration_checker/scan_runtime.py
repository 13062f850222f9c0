"""Scanner part: task definitions, signals and startup hooks, and the runtime hazards inside
them (event loops, process pools, import-time resources, swallowed errors)."""

import ast
import re

from migration_checker.facts import BeatEntry, EngineSpec, FunctionNode, Resource, TaskDef
from migration_checker.names import dotted
from migration_checker.options import option_rule
from migration_checker.scan_base import ScanBase, int_value

__all__ = ["RuntimeScan"]

# Celery's signals; what each becomes is the guide's Signals table (rules.py links it).
SIGNALS = frozenset(
    {
        "worker_process_init",
        "worker_init",
        "worker_ready",
        "celeryd_init",
        "celeryd_after_setup",
        "worker_process_shutdown",
        "worker_shutdown",
        "beat_init",
        "task_prerun",
        "task_postrun",
        "task_success",
        "task_failure",
        "task_retry",
        "task_revoked",
        "before_task_publish",
        "after_task_publish",
        "setup_logging",
        "after_setup_logger",
    }
)
# The per-process startup signals also mark their handler as a startup hook.
_STARTUP_SIGNALS = frozenset(
    {"worker_process_init", "worker_init", "worker_ready", "celeryd_init", "celeryd_after_setup"}
)
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
# Sync calls into a loop: from a task they stop being needed once the task is `async def`.
_LOOP_CALLS = frozenset({"run_until_complete", "run_coroutine_threadsafe"})
_LOOP_FUNCTIONS = frozenset({"asyncio.run", "asyncio.run_coroutine_threadsafe"})
# A loop built or started in a worker signal: the fork workaround the guide replaces.
_LOOP_STARTS = frozenset(
    {"asyncio.new_event_loop", "asyncio.get_event_loop", "asyncio.set_event_loop"}
)
# Calls that block the thread: harmless in a sync task, they stall every task sharing the
# worker's loop once the task is `async def`.
_BLOCKING_MODULES = ("requests.", "urllib.request.", "urllib3.", "httpx.")
_BLOCKING_CALLS = frozenset({"time.sleep", "socket.create_connection", "smtplib.SMTP"})
_HTTPX_SYNC = frozenset({"get", "post", "put", "patch", "delete", "head", "request", "Client"})


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


def _is_blocking(qualified: str) -> bool:
    if qualified in _BLOCKING_CALLS:
        return True
    if qualified.startswith("httpx."):
        return qualified.removeprefix("httpx.") in _HTTPX_SYNC
    return qualified.startswith(_BLOCKING_MODULES)


def _swallows(handler: ast.ExceptHandler) -> bool:
    broad = handler.type is None or (
        isinstance(handler.type, ast.Name) and handler.type.id in {"Exception", "BaseException"}
    )
    return broad and not any(isinstance(n, ast.Raise) for n in ast.walk(handler))


class RuntimeScan(ScanBase):
    def task_decorator(self, node: FunctionNode) -> ast.expr | None:
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualify(func).endswith(("shared_task", "periodic_task")):
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
        # A method's task is named after its class too (Celery uses the function's qualname).
        owner = ".".join([self.facts.module, *(name for name, _ in self.classes)])
        celery_name = str(explicit) if explicit else f"{owner}.{node.name}"
        task = TaskDef(node.name, celery_name, self.facts.path, node, decorator, options)
        self.facts.tasks.append(task)
        self.emit("task-definition", node, f"task {celery_name}")
        for option, value in options.items():
            if option == "run_every":
                self._periodic(task, value)
            elif (
                option == "serializer"
                and isinstance(value, ast.Constant)
                and value.value == "pickle"
            ):
                self.emit("pickle-serializer", value, f"task {node.name} uses serializer='pickle'")
            else:
                text = " ".join(ast.unparse(value).split())
                self.emit(option_rule(option), value, f"{node.name}: {option}={text}")
        return task

    def _periodic(self, task: TaskDef, every: ast.expr) -> None:
        """`@periodic_task(run_every=...)`: the schedule is on the task itself."""
        entry = BeatEntry(
            task.celery_name,
            task.celery_name,
            every,
            None,
            None,
            (),
            every.lineno,
            self.stmt_line,
            inline=True,
        )
        self.facts.beat_entries.append(entry)
        self.emit(
            "beat-schedule",
            every,
            f"periodic_task {task.func_name} runs every {ast.unparse(every)}",
        )

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
                return f"{self.signal_name(func.value)} signal handler (runs in every worker)"
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
            self.emit("signal", node, f"signal {name}")

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
        scope = self.scopes[-1]
        if scope.function is not None and qualified:
            scope.function.calls.add(qualified)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        # Sites are judged in hazards.py: only what a task reaches, at any depth, is a hazard.
        if method in _LOOP_CALLS or qualified in _LOOP_FUNCTIONS:
            what = qualified if qualified in _LOOP_FUNCTIONS else method
            self.record_site("loop-bridge", node, f"{what}()")
        elif qualified in _PROCESS_POOLS or method == "Pool":
            self.record_site("process-pool-in-task", node, f"{qualified or method}()")
        elif _is_blocking(qualified):
            self.record_site("blocking-io", node, f"{qualified}()")
        task, hook = self.task, self.startup_hook
        if task is not None and method == "retry" and dotted(node.func) == "self.retry":
            self.emit("retry-call", node, "self.retry(...)")
        if hook is not None and _ONE_TIME_WORK.search(last):
            self.emit("startup-one-time-work", node, f"{last}() in {hook}")
        if hook is not None and "signal" in hook and self._starts_loop(node, qualified, method):
            self.emit("worker-loop", node, f"{qualified or method}() in {hook}")

    def _starts_loop(self, node: ast.Call, qualified: str, method: str) -> bool:
        """A loop made, set or run forever in a worker signal, or a thread started on one."""
        if qualified in _LOOP_STARTS or method == "run_forever":
            return True
        target = next((kw.value for kw in node.keywords if kw.arg == "target"), None)
        return (
            qualified == "threading.Thread"
            and isinstance(target, ast.Attribute)
            and target.attr == "run_forever"
        )

    def _on_app(self, func: ast.expr) -> bool:
        return isinstance(func, ast.Attribute) and self.is_app(func.value)

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
