"""Celery's `chord(header)(callback)`: a group whose results go to one callback, exactly once.

No task waits for the members. Each member carries the `canvas_chord` label; when it finishes,
`CanvasMiddleware.post_save` (after its result is stored) adds its id to the chord's Redis set.
Any member run that finds the set complete, and the chord not yet marked fired, kicks the
callback with the member results in header order, as a run-once message of the chord
(`taskiq_durable.canvas.once`): a member killed after its result was stored, after it counted
itself or after it kicked is redelivered and kicks again, and the worker runs only the first
kick. A member that finally fails kicks the chord's `on_error` with a `TaskFailure` as a kick
of the same run-once message, so of the callback and the error callback exactly one runs
(Celery's chord error: the callback never runs).
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, AsyncTaskiqTask, TaskiqMessage, TaskiqResult

from taskiq_durable.canvas import state
from taskiq_durable.canvas.group import GroupHandle, apply_group, member_ids
from taskiq_durable.canvas.link import failure_of
from taskiq_durable.canvas.once import once_labels
from taskiq_durable.canvas.signature import Signature
from taskiq_durable.config import DurableConfig
from taskiq_durable.labels import label_flag
from taskiq_durable.lifecycle import IGNORE_RESULT

CHORD = "canvas_chord"

logger = logging.getLogger(__name__)

# Fault tests only: awaited at each named point of a member's completion path ("finished",
# "counted", "kicked"), so a test can SIGKILL the member there. None in production.
FaultHook = Callable[[str, TaskiqMessage], Awaitable[None]]
fault_hook: FaultHook | None = None


async def _at(point: str, message: TaskiqMessage) -> None:
    if fault_hook is not None:
        await fault_hook(point, message)


@dataclass(frozen=True)
class ChordHandle:
    group: GroupHandle
    callback_id: str

    def callback_task(self, broker: AsyncBroker) -> AsyncTaskiqTask[Any]:
        return AsyncTaskiqTask(self.callback_id, broker.result_backend)


async def apply_chord(
    broker: AsyncBroker,
    redis: Redis,
    settings: DurableConfig,
    header: Sequence[Signature],
    callback: Signature,
    *,
    on_error: Signature | None = None,
) -> ChordHandle:
    if any(label_flag(member.labels, IGNORE_RESULT) for member in header):
        raise ValueError("a chord member can't ignore its result: the callback needs it")
    chord_id = uuid.uuid4().hex
    chord = state.ChordState(
        member_ids=member_ids(chord_id, len(header)),
        callback=callback,
        callback_id=f"{chord_id}.callback",
        on_error=on_error,
    )
    # Saved before any member is kicked: the fastest member must find it.
    await state.save_chord(redis, settings, chord_id, chord)
    if not header:
        # No member will complete it: called back now, with the (empty) list of results.
        await _fire(broker, redis, settings, chord_id, chord.callback, [[]], chord.callback_id)
    group = await apply_group(broker, header, group_id=chord_id, **{CHORD: chord_id})
    return ChordHandle(group, chord.callback_id)


async def member_finished(
    broker: AsyncBroker,
    redis: Redis,
    settings: DurableConfig,
    message: TaskiqMessage,
    result: TaskiqResult[Any],
) -> None:
    chord_id = str(message.labels[CHORD])
    await _at("finished", message)  # its result is stored
    chord = await state.load_chord(redis, settings, chord_id)
    if chord is None or message.task_id not in chord.member_ids:
        logger.error("chord %s of member %s is unknown or expired", chord_id, message.task_id)
        return
    if result.is_err:
        if chord.on_error is None:
            logger.error("chord %s failed in %s; it has no on_error", chord_id, message.task_id)
        failure = failure_of(message, result)
        await _fire(
            broker, redis, settings, chord_id, chord.on_error, [failure], f"{chord_id}.on_error"
        )
        return
    if await state.count_finished(redis, settings, chord_id, message.task_id) < len(
        chord.member_ids
    ):
        return
    await _at("counted", message)  # it completed the set
    results = [
        (await broker.result_backend.get_result(member_id)).return_value
        for member_id in chord.member_ids
    ]
    await _fire(
        broker, redis, settings, chord_id, chord.callback, [results], chord.callback_id, message
    )


async def _fire(
    broker: AsyncBroker,
    redis: Redis,
    settings: DurableConfig,
    chord_id: str,
    target: Signature | None,
    prepended: list[Any],
    task_id: str,
    member: TaskiqMessage | None = None,
) -> None:
    if await state.fired(redis, settings, chord_id):
        return
    if target is not None:
        await target.kiq(broker, *prepended, task_id=task_id, **once_labels(chord_id))
        logger.info("chord %s: kicked %s as %s", chord_id, target.task_name, task_id)
    if member is not None:
        await _at("kicked", member)  # kicked, not yet marked fired
    await state.mark_fired(redis, settings, chord_id)
