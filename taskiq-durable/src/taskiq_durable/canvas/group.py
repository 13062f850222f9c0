"""Celery's `group(sig, ...)`: kick every member now; they run in parallel on any worker.

Nothing waits inside a worker: the caller holds a `GroupHandle` and awaits the member results
(`taskiq.gather(*handle.tasks(backend), timeout=...)`, Celery's `group().get()`), or makes it a
chord so that the last member to finish kicks the callback. Fan-out of batches is a group too:

    await apply_group(broker, [sig(process_batch, b) for b in batched(items, 100)])
"""

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from taskiq import AsyncBroker, AsyncTaskiqTask
from taskiq.abc.result_backend import AsyncResultBackend

from taskiq_durable.canvas.signature import LabelValue, Signature

T = TypeVar("T")


@dataclass(frozen=True)
class GroupHandle:
    group_id: str
    member_ids: list[str]

    def tasks(self, backend: AsyncResultBackend[Any]) -> list[AsyncTaskiqTask[Any]]:
        return [AsyncTaskiqTask(member_id, backend) for member_id in self.member_ids]


def member_ids(group_id: str, count: int) -> list[str]:
    return [f"{group_id}.{index}" for index in range(count)]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last one shorter), Celery's `chunks` split."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def apply_group(
    broker: AsyncBroker,
    members: Sequence[Signature],
    *,
    group_id: str | None = None,
    **labels: LabelValue,
) -> GroupHandle:
    """Kick each member with id `<group_id>.<index>` and the extra `labels`."""
    group_id = group_id or uuid.uuid4().hex
    ids = member_ids(group_id, len(members))
    for member, member_id in zip(members, ids, strict=True):
        await member.kiq(broker, task_id=member_id, **labels)
    return GroupHandle(group_id, ids)
