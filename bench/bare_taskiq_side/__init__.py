"""Bare TaskIQ as its docs show it: taskiq-redis stream broker and result backend, JSON."""
