"""The system of record: tickets and their full event history, through SQLAlchemy."""
