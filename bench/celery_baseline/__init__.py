"""The Celery 5 baseline, built the way the field reports describe (celery-patterns.md §1, §5)."""
