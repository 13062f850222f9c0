"""The scheduler process: its own entry point, not taskiq's scheduler CLI.

    asyncio.run(serve_scheduler(broker, config, modules=["myservice.tasks"]))

sends the label schedules of the tasks in `modules` (`LabelScheduleSource`) and the runtime
schedules in Redis (`RuntimeScheduleSource`) through the `TickLoop` (docs/scheduling.md: each
tick sent once by any number of schedulers, misfires, pick-up of runtime schedules), and sends
them the way taskiq does, through `TaskiqScheduler.on_ready` (the source's `pre_send`, the kick,
its `post_send`). SIGTERM or SIGINT stops it gracefully: a tick being sent is sent, sources and
broker are shut down; a second signal stops it at once.

`run_scheduler` is the same without signals and module imports, for a process that owns its
signals (it runs until cancelled).
"""

import asyncio
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from taskiq import AsyncBroker, ScheduleSource, TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

from taskiq_durable.config import DurableConfig
from taskiq_durable.scheduler.loop import TickLoop
from taskiq_durable.scheduler.sources import RuntimeScheduleSource

__all__ = ["run_scheduler", "serve_scheduler"]

logger = logging.getLogger(__name__)

BeforeStart = Callable[[], Awaitable[object]]


async def run_scheduler(
    broker: AsyncBroker,
    config: DurableConfig,
    *,
    before_start: BeforeStart | None = None,
    started: Callable[[TickLoop], None] | None = None,
    start_broker: bool = True,
) -> None:
    """Run the scheduler until its tick loop is stopped (`started` is handed the loop) or this
    is cancelled; either way the sources (and the broker, if started here) are shut down.

    `before_start` is awaited first (the stack waits there for its release step). With
    `start_broker=False` the caller has started the broker and stops it."""
    if before_start is not None:
        await before_start()
    runtime = RuntimeScheduleSource(config)
    sources: list[ScheduleSource] = [LabelScheduleSource(broker), runtime]
    scheduler = TaskiqScheduler(broker, sources)
    opened: list[ScheduleSource] = []
    broker_started = False
    try:
        for source in sources:
            await source.startup()
            opened.append(source)
        if start_broker:
            await scheduler.startup()  # the broker's client startup
            broker_started = True
        ticks = TickLoop(sources, runtime.state, scheduler.on_ready, config)
        if started is not None:
            started(ticks)
        logger.info("Startup completed.")
        await ticks.run()
    finally:
        # Also after a cancel, which was delivered once: only another one cuts this short.
        if broker_started:
            await scheduler.shutdown()
        for source in reversed(opened):
            await source.shutdown()
        logger.info("scheduler stopped")


async def serve_scheduler(
    broker: AsyncBroker,
    config: DurableConfig,
    *,
    modules: Sequence[str] = (),
    before_start: BeforeStart | None = None,
) -> None:
    """The scheduler process: import the task modules, run until SIGTERM or SIGINT."""
    broker.is_scheduler_process = True
    for module in modules:
        # An import error stops the process: a scheduler without its tasks' schedules would
        # run, and silently send none of them.
        importlib.import_module(module)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    running: list[TickLoop] = []
    signalled: list[int] = []

    def on_signal(signum: int) -> None:
        signalled.append(signum)
        name = signal.Signals(signum).name
        if running and len(signalled) == 1:
            logger.info("%s: stopping after the tick being sent", name)
            running[0].stop()
        else:  # still starting (waiting for the release step, say), or asked twice
            logger.info("%s: stopping now", name)
            main.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await run_scheduler(broker, config, before_start=before_start, started=running.append)
    except asyncio.CancelledError:
        if not signalled:
            raise
        main.uncancel()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
