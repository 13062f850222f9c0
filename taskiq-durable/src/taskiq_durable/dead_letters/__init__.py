"""Dead letters: messages that did not, or could not, run to success, kept to be read and replayed.

`letters` builds them, `checks` finds the messages a worker must not run, `store` is the small
protocol a worker writes them through; `sql` is the SQLAlchemy implementation (the `sql` extra),
with listing and replay for admin routes and CLIs.
"""

from taskiq_durable.dead_letters.letters import DeadLetter, DeadLetterReason
from taskiq_durable.dead_letters.store import DeadLetterStore, replay_labels

__all__ = ["DeadLetter", "DeadLetterReason", "DeadLetterStore", "replay_labels"]
