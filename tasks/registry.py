"""Every task module, imported for its side effect of registering tasks on the broker.

`taskiq worker tasks.broker:broker tasks.registry` and the scheduler load this one module, so a
new task module is added here and nowhere else.
"""

from tasks import examples, images, imports, reports

__all__ = ["examples", "images", "imports", "reports"]
