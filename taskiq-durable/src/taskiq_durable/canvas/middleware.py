"""The worker side of the canvas: after a task's result is stored, fire what follows it.

`post_save` runs only for results the receiver stored: never for `NoResultError` (a retry in
progress, an `ignore_result` success), so a retried task fires its `link_error` once, at the end.
Chord bookkeeping uses the delayed-delivery middleware's client: one Redis pool per worker child
for the library's bookkeeping, opened in its startup.
"""

from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from taskiq_durable.canvas.chord import CHORD, member_finished
from taskiq_durable.canvas.link import fire_links
from taskiq_durable.config import DurableConfig
from taskiq_durable.delayed import delayed_delivery


class CanvasMiddleware(TaskiqMiddleware):
    def __init__(self, config: DurableConfig) -> None:
        super().__init__()
        self._config = config

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        await fire_links(self.broker, message, result)
        if CHORD in message.labels:
            redis = delayed_delivery(self.broker).redis
            await member_finished(self.broker, redis, self._config, message, result)
