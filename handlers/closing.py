"""When a dialogue has ended: its unanswered questions go to their agencies with a deadline."""

from __future__ import annotations


async def close_ended(session, *, now, zone, default_locale, policy) -> int:  # type: ignore[no-untyped-def]
    """Called by every clock tick; returns how many messages were written."""
    return 0
