"""The scheduler: cron, interval and one-off schedules, each tick sent once by whichever
scheduler claims it (`run` is the entry point, `loop` the tick loop, `sources` the runtime
schedules in Redis)."""
