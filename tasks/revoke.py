"""`python -m tasks.revoke TASK_ID [TASK_ID ...]`: revoke tasks of this stack from a shell."""

import sys

from taskiq_durable.revoke import run_cli

from core.settings import get_settings

if __name__ == "__main__":
    sys.exit(run_cli(get_settings().durable(), prog="python -m tasks.revoke"))
