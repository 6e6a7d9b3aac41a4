"""`doithoai doctor`."""

from __future__ import annotations


def doctor() -> None:
    """Check the settings, the database, Telegram, Zalo, the webhook, the clock and the outbox."""
