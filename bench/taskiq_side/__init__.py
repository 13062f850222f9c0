"""This stack's side of the benchmark: its real broker, dependencies, processes and routes."""

# W5's run id reaches the scheduler process through its environment. Here, not in `tasks`, so
# the harness reads it without importing (and building) the stack's broker.
TICK_RUN_ID_ENV = "BENCH_TASKIQ_TICK_RUN_ID"
