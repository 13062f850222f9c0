"""streaq as its docs show it: one `Worker` on Redis streams, JSON instead of its pickle."""
