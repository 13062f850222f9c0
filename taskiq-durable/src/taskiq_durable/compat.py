"""Everything this library assumes about taskiq, taskiq-redis and redis-py beyond their public
API, in one place; tests/library/test_compat.py checks each assumption against the installed
versions and fails, naming it, when an upstream release changes it.

No private name of theirs is used anywhere in the library (tests/architecture/ fails the build
on one outside this module), and this module needs none either. What is left are layouts and
behaviours the library mirrors or relies on:

1. Result keys. taskiq-redis's `RedisAsyncResultBackend` keeps a result at `<prefix_str>:<id>`
   and its progress at that key + `PROGRESS_KEY_SUFFIX` (its private `_task_name`). Our
   `ResultBackend` reads and writes those keys itself, on one client per process, and keeps the
   layout, so a plain taskiq-redis backend on the same prefix reads our results and vice versa.
2. Runtime schedule keys. taskiq-redis's `ListRedisScheduleSource` keeps a schedule's JSON at
   `<prefix>:data:<id>` and its id in `<prefix>:cron`, `<prefix>:interval` or, for a one-off,
   `<prefix>:time:<YYYY-MM-DDTHH:MM>` (UTC minute) (its private `_get_*_key`). Our
   `RuntimeScheduleSource` is a `ScheduleSource` of its own on that layout, so schedules written
   by either are run by our scheduler.
3. One decode per message. taskiq's `Receiver.callback` decodes the broker's bytes with
   `broker.formatter.loads(message=<those bytes>)`, once, in the asyncio task that then runs the
   message. `taskiq_durable.receiver` decodes first (admission) and hands its message over
   through the formatter (`HandOver`).
4. The keywords `taskiq worker` passes to a receiver: `max_async_tasks`,
   `max_async_tasks_jitter`, `max_prefetch`. The stream receiver sizes its broker's fetches from
   them (`taskiq_durable.streams.receiver`).
5. `Receiver.run_task(target, message, ...)` is given the task function as `target` and calls
   it in the asyncio task of the message's middlewares (`pre_execute`): the receiver wraps it
   there so that time limits and revoke can stop it (`taskiq_durable.interrupt`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from taskiq_redis.redis_backend import PROGRESS_KEY_SUFFIX

__all__ = ["PROGRESS_KEY_SUFFIX", "ScheduleKeys", "result_key"]

# The UTC minute a one-off schedule's list is named after.
_MINUTE = "%Y-%m-%dT%H:%M"


def result_key(prefix: str, task_id: str) -> str:
    """Where taskiq-redis's result backend with `prefix_str=prefix` keeps `task_id`'s result."""
    return f"{prefix}:{task_id}"


@dataclass(frozen=True, slots=True)
class ScheduleKeys:
    """The keys of taskiq-redis's `ListRedisScheduleSource(prefix=prefix)`."""

    prefix: str

    @property
    def cron(self) -> str:
        return f"{self.prefix}:cron"

    @property
    def interval(self) -> str:
        return f"{self.prefix}:interval"

    def data(self, schedule_id: str) -> str:
        return f"{self.prefix}:data:{schedule_id}"

    def time(self, at: datetime) -> str:
        """The list of one-offs due within `at`'s minute (a naive `at` is UTC)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return f"{self.prefix}:time:{at.astimezone(UTC).strftime(_MINUTE)}"

    @property
    def time_pattern(self) -> str:
        """SCAN pattern of every one-off list."""
        return f"{self.prefix}:time:*"

    def minute_of(self, time_key: str) -> datetime | None:
        """The minute a one-off list is named after; None for any other key.

        taskiq-redis 1.2.4 reads the text after the *second* colon as the time, so with a prefix
        that has a colon of its own every past one-off was dropped; this reads after the prefix.
        """
        minute = time_key.removeprefix(f"{self.prefix}:time:")
        try:
            return datetime.strptime(minute, _MINUTE).replace(tzinfo=UTC)
        except ValueError:
            return None
