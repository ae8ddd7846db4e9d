"""Runs: their state machine, the worker process that trains, and the manager that drives both."""
