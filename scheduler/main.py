"""`taskiq scheduler scheduler.main:scheduler tasks.registry`: the one scheduler process.

Schedules come from task labels (cron jobs in code) and from a Redis list source (schedules
added at run time), both JSON in Redis.
"""

from taskiq import TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.serializers import JSONSerializer
from taskiq_redis import ListRedisScheduleSource

from core.db.schema import wait_for_schema
from core.settings import get_settings
from tasks.broker import broker

_settings = get_settings()


async def wait_for_release(state: TaskiqState) -> None:
    """Send nothing before the release step has brought the schema to head."""
    await wait_for_schema(_settings.database_url, within=_settings.schema_wait_seconds)


# Registered here, not in tasks.broker: only the scheduler process imports this module.
broker.add_event_handler(TaskiqEvents.CLIENT_STARTUP, wait_for_release)

scheduler = TaskiqScheduler(
    broker,
    sources=[
        LabelScheduleSource(broker),
        ListRedisScheduleSource(
            _settings.redis_url,
            prefix=_settings.key("schedule"),
            serializer=JSONSerializer(),  # taskiq-redis defaults to pickle
        ),
    ],
)
