"""Streaming ticket router for a 12345 unified government service hotline."""

__version__ = "0.1.0"
