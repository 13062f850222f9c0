"""The worker process: the broker, the worker runtime and the task modules."""
