"""`python -m tasks.inspect`: Celery's `inspect` and `redis-cli LLEN`, read from the real state."""
