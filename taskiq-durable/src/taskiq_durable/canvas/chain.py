"""Celery's `chain(a.s(), b.s(), c.s())` on taskiq-pipelines, plus the error callback it lacks.

Each step's result is the first argument of the next (`Pipeline.call_next`); the pipeline's
`PipelineMiddleware` kicks the next step in `post_save`. When a step fails for good it stops
the chain (the remaining steps never run) and sets its error as the last step's result, but it
calls nothing: `on_error` (Celery's `link_error` on a chain) rides on every step as the
`canvas_link_error` label and `CanvasMiddleware` kicks it with the failing step's `TaskFailure`.
Steps after the first take keyword arguments only (taskiq-pipelines passes no positional ones).

A step with retries is retried as itself: `ChainMiddleware` (the broker's, in place of
taskiq-pipelines' `PipelineMiddleware`) stops the chain on a stored failure only. Upstream
stops it in `on_error`, which runs for every failed attempt before the retry middleware
decides to retry (on_error runs in reverse middleware order), so the chain's result was the
first attempt's error while the retry went on unseen.
"""

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqTask, TaskiqMessage, TaskiqResult
from taskiq_pipelines import Pipeline, PipelineMiddleware
from taskiq_pipelines.constants import EMPTY_PARAM_NAME

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
        # An immutable step (`si`) is not handed the previous result.
        passed = EMPTY_PARAM_NAME if step.immutable else None
        pipeline = pipeline.call_next(step.kicker(broker, **labels), passed, **step.kwargs)
    return pipeline


async def apply_chain(
    broker: AsyncBroker, *steps: Signature, on_error: Signature | None = None
) -> AsyncTaskiqTask[Any]:
    """Kick the chain; the returned task is its last step (its result is the chain's)."""
    pipeline = chain(broker, *steps, on_error=on_error)
    return await pipeline.kiq(*steps[0].args, **steps[0].kwargs)


class ChainMiddleware(PipelineMiddleware):
    """taskiq-pipelines' middleware, failing the chain when a failure is stored (`post_save`:
    never for a retried attempt, whose `NoResultError` is not stored) instead of on every
    attempt's error."""

    async def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        return  # the outcome is not settled yet: a retry may follow

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        if result.is_err and result.error is not None:
            # Upstream's failure handling, now that the failure is final.
            await super().on_error(message, result, result.error)
            return
        await super().post_save(message, result)
