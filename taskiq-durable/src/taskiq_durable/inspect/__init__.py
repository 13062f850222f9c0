"""Inspect: what the streams, the delayed set and the schedules hold, read from the real state."""
