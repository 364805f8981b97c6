"""Intake adapters: every wire format ends in one normalised `CallRecord`."""
