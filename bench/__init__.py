"""Side-by-side benchmark of this stack and a Celery 5 baseline: `python -m bench.run`."""
