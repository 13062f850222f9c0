"""Code shared by the three processes: settings, per-process resources, database, domain."""
