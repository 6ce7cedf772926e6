"""Celery workers: thin tasks that load a job, call the engine, and record the outcome."""
