"""Real scheduler processes (`python -m scheduler`, the Procfile line) on real Redis: each tick is
sent once, whatever happens; they stop gracefully on a signal and refuse a broken setup."""

import signal
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import make_url
from taskiq import ScheduledTask

from core.settings import Settings
from tests.conftest import StartProcess
from tests.scheduling.support import add_schedule, sent, wait_started
from tests.support.processes import procfile_commands, wait_until

SCHEDULER = procfile_commands()["scheduler"]


def schedule(schedule_id: str, misfire: str | None = None, **trigger: object) -> ScheduledTask:
    return ScheduledTask(
        task_name="imports.cleanup",
        labels={} if misfire is None else {"misfire": misfire},
        args=[],
        kwargs={},
        schedule_id=schedule_id,
        **trigger,
    )


def test_two_schedulers_side_by_side_send_each_tick_once(
    settings: Settings, start: StartProcess
) -> None:
    add_schedule(settings, schedule("every-second", interval=1))
    first, second = start("scheduler-a", SCHEDULER), start("scheduler-b", SCHEDULER)
    wait_started(first, second)
    wait_until(lambda: len(sent(settings, "every-second")) >= 2, within=30, what="ticks")
    both_from = sent(settings, "every-second")[-1].tick
    wait_until(
        lambda: sent(settings, "every-second")[-1].tick >= both_from + timedelta(seconds=4),
        within=30,
        what="4 more ticks",
    )

    first.stop()  # failover: the other one carries on, nothing re-sent
    stopped_at = sent(settings, "every-second")[-1].tick
    wait_until(
        lambda: sent(settings, "every-second")[-1].tick >= stopped_at + timedelta(seconds=2),
        within=30,
        what="ticks after failover",
    )

    ticks = [s.tick for s in sent(settings, "every-second")]
    assert len(ticks) == len(set(ticks)), f"a tick was sent twice: {ticks}"
    assert ticks == sorted(ticks)
    assert "sent tick" in first.log() + second.log()


def test_restart_inside_the_same_minute_does_not_resend_its_cron_tick(
    settings: Settings, start: StartProcess
) -> None:
    now = datetime.now(UTC)
    if now.second > 40:  # leave the whole test inside one minute
        time.sleep(61 - now.second)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    # Last handled just before this minute: this minute's tick is due (and within the grace).
    add_schedule(
        settings, schedule("each-minute", cron="* * * * *"), handled=minute - timedelta(seconds=1)
    )
    env = {"SCHEDULER_MISFIRE_GRACE_SECONDS": "59"}
    scheduler = start("scheduler-1", SCHEDULER, **env)
    wait_until(lambda: sent(settings, "each-minute"), within=30, what="this minute's tick")
    scheduler.stop()

    restarted = start("scheduler-2", SCHEDULER, **env)
    wait_started(restarted)
    time.sleep(2)  # several loop iterations (SCHEDULER_POLL_SECONDS=0.5) after startup
    assert datetime.now(UTC) - minute < timedelta(minutes=1), "the test left its minute"
    assert [s.tick for s in sent(settings, "each-minute")] == [minute]


def test_a_tick_missed_while_no_scheduler_ran_is_caught_up_once_or_skipped(
    settings: Settings, start: StartProcess
) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    if now - hour < timedelta(seconds=5):  # the latest hourly tick must be older than the grace
        time.sleep(5)
    down_since = hour - timedelta(hours=3)  # three hourly ticks missed
    add_schedule(
        settings, schedule("hourly-catch-up", "catch_up", interval=3600), handled=down_since
    )
    add_schedule(settings, schedule("hourly-skip", "skip", interval=3600), handled=down_since)
    add_schedule(settings, schedule("one-off", time=now - timedelta(hours=1)))

    scheduler = start("scheduler", SCHEDULER, SCHEDULER_MISFIRE_GRACE_SECONDS="1")
    wait_until(
        lambda: sent(settings, "hourly-catch-up") and sent(settings, "one-off"),
        within=30,
        what="catch-up",
    )
    wait_until(lambda: "hourly-skip: missed tick" in scheduler.log(), within=10, what="the skip")
    time.sleep(1.5)  # a few more loop iterations: nothing else may be sent

    assert [s.tick for s in sent(settings, "hourly-catch-up")] == [hour]
    assert sent(settings, "hourly-skip") == []
    assert [s.tick for s in sent(settings, "one-off")] == [now - timedelta(hours=1)]


def test_sigterm_stops_the_scheduler_gracefully_and_a_second_signal_at_once(
    settings: Settings, start: StartProcess
) -> None:
    add_schedule(settings, schedule("every-second", interval=1))
    scheduler = start("scheduler", SCHEDULER)
    wait_started(scheduler)
    wait_until(lambda: sent(settings, "every-second"), within=30, what="a tick")
    asked = time.monotonic()
    scheduler.stop(sig=signal.SIGTERM, grace=10)
    took = time.monotonic() - asked
    log = scheduler.log()
    assert scheduler.popen.returncode == 0, log
    assert "SIGTERM: stopping after the tick being sent" in log
    assert "scheduler stopped" in log
    assert "Traceback" not in log
    # Exit code 0 within the 10 s grace is the claim (a SIGKILL would leave -9); the time is
    # reported, not asserted: this machine is shared.
    print(f"scheduler stopped {took:.2f}s after SIGTERM")

    # Still waiting for the release step (a database that never migrates): SIGINT stops it.
    waiting = start("waiting", SCHEDULER, DATABASE_URL=_unmigrated(settings))
    wait_until(
        lambda: "waiting for the release step" in waiting.log(),
        within=30,
        what="the wait for the release step",
    )
    waiting.stop(sig=signal.SIGINT, grace=10)
    assert waiting.popen.returncode == 0, waiting.log()
    assert "SIGINT: stopping now" in waiting.log()


def test_a_task_module_that_does_not_import_stops_the_scheduler(
    settings: Settings, start: StartProcess
) -> None:
    broken = start(
        "scheduler", SCHEDULER.replace("tasks.registry", "tasks.registry no.such.module")
    )
    wait_until(lambda: broken.popen.poll() is not None, within=60, what="the scheduler to exit")
    assert broken.popen.returncode != 0
    assert "No module named 'no'" in broken.log()
    assert "Startup completed." not in broken.log()


def _unmigrated(settings: Settings) -> str:
    """A database URL on the test server whose database never gets a schema."""
    return (
        make_url(settings.database_url)
        .set(database="postgres")
        .render_as_string(hide_password=False)
    )
