"""Setup errors no restart can fix stop the whole `taskiq worker`, not one child.

taskiq's main process respawns a child that dies at startup, forever: `--max-fails` would bound
that, but in taskiq 0.13 it also counts the normal exits of recycled children, so this stack
can't use it. A child that finds its setup unusable (schema never migrated, connection budget
exceeded, no uvloop) therefore logs why and asks its parent to shut down, as Ctrl-C would.
"""

import logging
import os
import signal

logger = logging.getLogger(__name__)


class WorkerSetupError(RuntimeError):
    """This worker cannot run as configured; the message says what to change."""


def stop_worker(reason: str) -> WorkerSetupError:
    """Log `reason`, signal the `taskiq worker` main process, and return the error to raise."""
    logger.critical("stopping the worker: %s", reason)
    os.kill(os.getppid(), signal.SIGTERM)
    return WorkerSetupError(reason)
