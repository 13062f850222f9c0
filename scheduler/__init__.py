"""The scheduler process: the `TaskiqScheduler` and its schedule sources."""
