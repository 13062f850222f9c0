"""The scheduler process, `python -m scheduler tasks.registry` (scheduler/__main__.py)."""
