"""The web process: FastAPI routes that read the database and kick tasks."""
