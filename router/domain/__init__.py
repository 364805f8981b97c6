"""The pure domain core: calls, hotlines, routing rules and the ticket state machine.

Nothing in this package performs I/O or imports a broker, database or HTTP library;
adapters around it do that.
"""
