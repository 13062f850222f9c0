"""The tick loop: reads the schedule sources, sleeps until the next tick, sends it once.

It replaces the decision half of taskiq's `SchedulerLoop`, which keeps last-run times in process
memory (a restart re-sends this minute's cron jobs, two processes send everything twice), anchors
interval schedules at process start and wakes only on whole seconds. Here the decision is
`due_tick` (pure) plus the shared mark in Redis (`ScheduleState.advance`), and sending goes
through taskiq's own `TaskiqScheduler.on_ready` (source `pre_send`, kick, `post_send`).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from redis.exceptions import RedisError
from taskiq import ScheduledTask, ScheduleSource
from taskiq.utils import maybe_awaitable

from taskiq_durable.config import DurableConfig
from taskiq_durable.scheduler.specs import TICK_LABEL, misfire_of, trigger_of
from taskiq_durable.scheduler.state import ScheduleState
from taskiq_durable.scheduler.ticks import Misfire, OnceTrigger, Trigger, due_tick, next_tick

__all__ = ["TickLoop"]

logger = logging.getLogger(__name__)

Send = Callable[[ScheduleSource, ScheduledTask], Awaitable[None]]
NEVER = datetime.min.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Entry:
    source: ScheduleSource
    task: ScheduledTask
    trigger: Trigger
    misfire: Misfire
    handled: datetime  # the last tick this process knows was handled (by anyone)
    next_due: datetime | None


class TickLoop:
    def __init__(
        self,
        sources: Sequence[ScheduleSource],
        state: ScheduleState,
        send: Send,
        settings: DurableConfig,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sources = sources
        self._state = state
        self._send = send
        self._settings = settings
        self._clock = clock
        self._grace = timedelta(seconds=settings.scheduler_misfire_grace_seconds)
        self._poll = timedelta(seconds=settings.scheduler_poll_seconds)
        self._entries: dict[str, Entry] = {}
        self._refreshed_at = NEVER
        self._version = -1
        self._rejected: set[str] = set()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Tick until `stop()`; an iteration under way (a tick being sent) is finished first."""
        while not self._stopping.is_set():
            try:
                await self._iterate()
            except Exception:
                # One bad schedule or a Redis outage must not stop every other schedule.
                logger.exception("scheduler loop iteration failed; retrying")
                await self._sleep(self._poll.total_seconds())

    def stop(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, or less if `stop()` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))

    async def _iterate(self) -> None:
        now = self._clock()
        # Due ticks first: a refresh (several Redis round trips) must not make them late.
        due = [e for e in self._entries.values() if e.next_due is not None and e.next_due <= now]
        await asyncio.gather(*(self._fire(entry, now) for entry in due))
        version = await self._state.version()
        if self._refresh_due(now, version):
            await self._refresh(self._clock())
            self._version = version
        await self._sleep_until_next(self._clock())

    def _refresh_due(self, now: datetime, version: int) -> bool:
        minute = now.replace(second=0, microsecond=0)
        return (
            version != self._version
            # The list source returns one-off schedules from their minute on, so a new minute
            # may bring schedules due within it.
            or self._refreshed_at < minute
            or now - self._refreshed_at
            >= timedelta(seconds=self._settings.scheduler_refresh_seconds)
        )

    async def _refresh(self, now: datetime) -> None:
        entries: dict[str, Entry] = {}
        for source in self._sources:
            try:
                tasks = await source.get_schedules()
            except (RedisError, OSError):
                logger.exception("cannot read schedules from %r; keeping the last ones", source)
                entries |= {k: e for k, e in self._entries.items() if e.source is source}
                continue
            for task in tasks:
                entry = self._entry(source, task)
                if entry is not None and entries.setdefault(task.schedule_id, entry) is not entry:
                    logger.warning(
                        "schedule id %s is defined twice; ignoring one", task.schedule_id
                    )
        await self._initialise([e for e in entries.values() if e.next_due is NEVER], now)
        self._entries = entries
        self._refreshed_at = now

    def _entry(self, source: ScheduleSource, task: ScheduledTask) -> Entry | None:
        try:
            trigger = trigger_of(task, self._settings.timezone)
            misfire = misfire_of(task, Misfire(self._settings.scheduler_misfire_default))
        except ValueError as exc:
            if task.schedule_id not in self._rejected:
                self._rejected.add(task.schedule_id)
                logger.error("schedule %s cannot fire: %s", task.schedule_id, exc)
            return None
        known = self._entries.get(task.schedule_id)
        if known is not None and known.trigger == trigger:
            return Entry(source, task, trigger, misfire, known.handled, known.next_due)
        return Entry(source, task, trigger, misfire, handled=NEVER, next_due=NEVER)

    async def _initialise(self, fresh: list[Entry], now: datetime) -> None:
        """Pick up where the last scheduler left each new schedule: at its shared mark."""
        one_offs = [e.task.schedule_id for e in fresh if isinstance(e.trigger, OnceTrigger)]
        marks = await self._state.handled([e.task.schedule_id for e in fresh])
        marks |= await self._state.handled_once(one_offs)
        for entry in fresh:
            handled = marks[entry.task.schedule_id]
            if handled is None and entry.task.schedule_id not in one_offs:
                # Never seen: count from now, so downtime from here on is recognised.
                handled = await self._state.register(entry.task.schedule_id, now)
            entry.handled = handled or NEVER
            entry.next_due = next_tick(entry.trigger, entry.handled)
            if entry.next_due is None:
                # A one-off already sent whose source kept it (a crash before `post_send`).
                await maybe_awaitable(entry.source.post_send(entry.task))

    async def _fire(self, entry: Entry, now: datetime) -> None:
        due = due_tick(entry.trigger, entry.handled, now, self._grace, entry.misfire)
        if due is None:
            entry.next_due = next_tick(entry.trigger, max(entry.handled, now))
            return
        schedule_id = entry.task.schedule_id
        undo = await self._claim(entry, due.tick)
        if undo is not None and due.send:
            task = entry.task.model_copy(
                update={"labels": {**entry.task.labels, TICK_LABEL: due.tick.isoformat()}}
            )
            try:
                await self._send(entry.source, task)
            except Exception:
                logger.exception("schedule %s: sending tick %s failed", schedule_id, due.tick)
                await undo()
                entry.next_due = now + self._poll
                return
            lateness = (self._clock() - due.tick).total_seconds()
            log = logger.warning if due.late else logger.info
            log("schedule %s: sent tick %s, %.3f s late", schedule_id, due.tick, lateness)
        elif undo is not None:
            logger.warning(
                "schedule %s: missed tick %s skipped (misfire=skip)", schedule_id, due.tick
            )
        entry.handled = due.tick
        entry.next_due = next_tick(entry.trigger, due.tick)

    async def _claim(self, entry: Entry, tick: datetime) -> Callable[[], Awaitable[None]] | None:
        """Claim the tick for this process; what undoes the claim, or None if another has it."""
        schedule_id = entry.task.schedule_id
        if isinstance(entry.trigger, OnceTrigger):
            if not await self._state.claim_once(schedule_id, tick):
                return None
            return partial(self._state.release_once, schedule_id)
        advance = await self._state.advance(schedule_id, tick)
        if not advance.won:
            return None
        return partial(self._state.rollback, schedule_id, tick, advance.previous)

    async def _sleep_until_next(self, now: datetime) -> None:
        wake = now + self._poll
        for entry in self._entries.values():
            if entry.next_due is not None and entry.next_due < wake:
                wake = entry.next_due
        await self._sleep((wake - self._clock()).total_seconds())
