"""What time it is, as something to pass in: code that needs the time takes a `Now`, and tests
give it a fixed or stepping one instead of the machine's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]


def utcnow() -> datetime:
    """The machine's time now, timezone-aware, in UTC."""
    return datetime.now(UTC)
