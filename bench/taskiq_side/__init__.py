"""This stack's side of the benchmark: its real broker, dependencies, processes and routes."""
