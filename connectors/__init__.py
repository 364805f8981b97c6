"""Adapters at the edge: intake parsers (one per wire format) and outbound senders.

An adapter parses or sends and raises typed errors; it decides nothing.
"""
