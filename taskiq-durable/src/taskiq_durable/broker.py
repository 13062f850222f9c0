"""`build_broker`: taskiq-redis's stream broker with every delivery guarantee of this library.

    broker = build_broker(config, dead_letters=store)

Building it opens nothing: redis-py pools connect on first use, on the loop of the process that
uses them. A worker runs it with this library's receiver:

    taskiq worker myservice.broker:broker myservice.tasks --receiver taskiq_durable:DurableReceiver
"""

from taskiq_durable.canvas.chain import ChainMiddleware
from taskiq_durable.canvas.middleware import CanvasMiddleware
from taskiq_durable.config import DurableConfig
from taskiq_durable.dead_letters.store import DeadLetterStore
from taskiq_durable.delayed import DelayedDelivery
from taskiq_durable.durable_broker import DurableBroker
from taskiq_durable.interrupt import Executions
from taskiq_durable.lifecycle import LifecycleMiddleware
from taskiq_durable.presence import WorkerPresence
from taskiq_durable.queues import RoutingMiddleware
from taskiq_durable.result_backend import ResultBackend
from taskiq_durable.retry import RetryMiddleware
from taskiq_durable.revoke_middleware import RevokeMiddleware
from taskiq_durable.signals import TaskSignals
from taskiq_durable.time_limits import TimeLimitMiddleware

__all__ = ["build_broker"]


def build_broker(config: DurableConfig, *, dead_letters: DeadLetterStore) -> DurableBroker:
    # JSON, one Redis client per process, batched reads for taskiq_durable.results' waiter.
    results = ResultBackend.for_config(config)
    # Reclaim on a timer, heartbeats, bounded prefetch, hand-back, safe trimming, recycling:
    # see taskiq_durable/streams/ and docs/delivery.md.
    broker = DurableBroker(config, dead_letters)
    broker.with_result_backend(results)
    # Signals first: its post_execute runs last, after every on_error settled the outcome
    # (docs/patterns/signals.md). Routing sets each sent message's stream. Presence: a worker
    # child's heartbeat and running tasks (taskiq_durable.presence), for inspect and /ready.
    broker.add_middlewares(TaskSignals(), RoutingMiddleware(config), WorkerPresence(config))
    # Delayed delivery, retries with backoff, dead letters: docs/delivery.md. Before revoke,
    # time limits and the result middlewares, so that Retry's on_error (run in reverse order)
    # sees the error they settled, and a retried attempt's NoResultError keeps their post_save
    # hooks (link_error, chains) quiet until the last attempt.
    delayed = DelayedDelivery(config, stream=broker.queue_name)
    broker.add_middlewares(delayed, RetryMiddleware(delayed))
    # Revoke and time limits share the registry of running executions (interrupt.py).
    # Revoke early: a revoked message is recognised before later middlewares act on it. Time
    # limits last: their clock starts closest to the task body. Both raise inside the body
    # (TaskRevoked, TimeLimitExceeded), so every on_error sees that exception, in any order.
    executions = Executions()
    broker.add_middlewares(RevokeMiddleware(config, executions))
    # chain (taskiq-pipelines, failed on the final attempt only), STARTED marker (opt-in) +
    # ignore_result, link/link_error + chord: docs/patterns/results.md, docs/patterns/canvas.md.
    broker.add_middlewares(ChainMiddleware(), LifecycleMiddleware(config), CanvasMiddleware(config))
    broker.add_middlewares(TimeLimitMiddleware(executions))
    return broker
