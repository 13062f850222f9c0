"""Celery's signature (`task.s(*args, **kwargs)`): a task call as JSON-able data.

Canvas primitives store signatures in labels and in Redis and kick them later, possibly from
another process, so a signature names its task instead of holding the function.

An immutable signature (Celery's `task.si(...)`, `si(task, ...)` here) is called with its own
arguments only: a chain step ignores the previous result, a chord body the member results,
a `link` the parent's result and a `link_error` the `TaskFailure`.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, AsyncTaskiqTask
from taskiq.kicker import AsyncKicker

LabelValue = str | int | float | bool


@dataclass(frozen=True)
class Signature:
    task_name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    # The task's own primitive labels (timeout, retry_on_error, ...), as `task.kiq()` would send.
    labels: dict[str, LabelValue] = field(default_factory=dict)
    # Celery's immutable=True: whatever a canvas would prepend (a result, a failure) is dropped.
    immutable: bool = False

    def to_json(self) -> str:
        return _ADAPTER.dump_json(self).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Signature":
        return _ADAPTER.validate_json(raw)

    def kicker(self, broker: AsyncBroker, **labels: LabelValue) -> AsyncKicker[Any, Any]:
        return AsyncKicker(self.task_name, broker, {**self.labels, **labels})

    async def kiq(
        self,
        broker: AsyncBroker,
        *prepended: Any,
        task_id: str | None = None,
        **labels: LabelValue,
    ) -> AsyncTaskiqTask[Any]:
        """Kick it; `prepended` go before its own args (a parent's result, as in Celery), unless
        it is immutable."""
        kicker = self.kicker(broker, **labels)
        if task_id is not None:
            kicker = kicker.with_task_id(task_id)
        args = self.args if self.immutable else (*prepended, *self.args)
        return await kicker.kiq(*args, **self.kwargs)


_ADAPTER = TypeAdapter(Signature)


def sig(task: AsyncTaskiqDecoratedTask[Any, Any], *args: Any, **kwargs: Any) -> Signature:
    """`sig(add, 2, 3)` is Celery's `add.s(2, 3)`."""
    labels = {k: v for k, v in task.labels.items() if isinstance(v, LabelValue)}
    return Signature(task_name=task.task_name, args=args, kwargs=kwargs, labels=labels)


def si(task: AsyncTaskiqDecoratedTask[Any, Any], *args: Any, **kwargs: Any) -> Signature:
    """`si(add, 2, 3)` is Celery's `add.si(2, 3)`: an immutable signature."""
    return replace(sig(task, *args, **kwargs), immutable=True)
