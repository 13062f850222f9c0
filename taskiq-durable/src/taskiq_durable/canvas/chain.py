"""Celery's `chain(a.s(), b.s(), c.s())` on taskiq-pipelines, plus the error callback it lacks.

Each step's result is the first argument of the next (`Pipeline.call_next`); the pipeline's
`PipelineMiddleware` kicks the next step in `post_save`. When a step fails for good it stops
the chain (the remaining steps never run) and sets its error as the last step's result, but it
calls nothing: `on_error` (Celery's `link_error` on a chain) rides on every step as the
`canvas_link_error` label and `CanvasMiddleware` kicks it with the failing step's `TaskFailure`.
Steps after the first take keyword arguments only (taskiq-pipelines passes no positional ones).
"""

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqTask
from taskiq_pipelines import Pipeline

from taskiq_durable.canvas.link import LINK_ERROR
from taskiq_durable.canvas.signature import LabelValue, Signature


def chain(
    broker: AsyncBroker, *steps: Signature, on_error: Signature | None = None
) -> Pipeline[Any, Any]:
    if not steps:
        raise ValueError("a chain needs at least one step")
    if any(step.args for step in steps[1:]):
        raise ValueError("chain steps after the first take keyword arguments only")
    labels: dict[str, LabelValue] = {} if on_error is None else {LINK_ERROR: on_error.to_json()}
    pipeline: Pipeline[Any, Any] = Pipeline(broker, steps[0].kicker(broker, **labels))
    for step in steps[1:]:
        pipeline = pipeline.call_next(step.kicker(broker, **labels), **step.kwargs)
    return pipeline


async def apply_chain(
    broker: AsyncBroker, *steps: Signature, on_error: Signature | None = None
) -> AsyncTaskiqTask[Any]:
    """Kick the chain; the returned task is its last step (its result is the chain's)."""
    pipeline = chain(broker, *steps, on_error=on_error)
    return await pipeline.kiq(*steps[0].args, **steps[0].kwargs)
