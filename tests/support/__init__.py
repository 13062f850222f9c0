"""Helpers for tests that run the stack's real processes against real servers."""
