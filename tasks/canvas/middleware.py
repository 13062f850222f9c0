"""The worker side of the canvas: after a task's result is stored, fire what follows it.

`post_save` runs only for results the receiver stored: never for `NoResultError` (a retry in
progress, an `ignore_result` success), so a retried task fires its `link_error` once, at the end.
It needs the worker child's Redis client and settings, from `state.resources`
(tasks/runtime.py): nothing is opened here.
"""

from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from core.resources import Resources
from tasks.canvas.chord import CHORD, member_finished
from tasks.canvas.link import fire_links


class CanvasMiddleware(TaskiqMiddleware):
    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        await fire_links(self.broker, message, result)
        if CHORD in message.labels:
            resources: Resources = self.broker.state.resources
            await member_finished(self.broker, resources.redis, resources.settings, message, result)
