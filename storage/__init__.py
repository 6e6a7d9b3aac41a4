"""Storage: SQLAlchemy models, Alembic migrations, and the queries and rules on the data.

Functions here take keyword arguments and a session, and never commit: the dispatcher (or the
CLI command) owns the transaction.
"""
