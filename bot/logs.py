"""Logging for the service: our own lines at the chosen level, libraries capped.

Libraries log what they carry at DEBUG: python-telegram-bot whole updates (texts beside chat
ids), httpx request URLs (the token is in Telegram's), aiosqlite and SQLAlchemy the SQL
parameters (question texts). None of that may reach a log, so they are capped whatever level
the service runs at.
"""

from __future__ import annotations

import logging

CAPPED = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "asyncpg": logging.WARNING,
    "apscheduler": logging.INFO,
    "alembic": logging.WARNING,
}


def cap_libraries() -> None:
    for name, level in CAPPED.items():
        logging.getLogger(name).setLevel(level)


def configure(level: str | int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cap_libraries()
