"""The facilitators' daily digest (07:00, and /baocao on demand) and officials' overdue reminders."""

from __future__ import annotations

from handlers.context import Context


async def on_demand(ctx: Context) -> None:
    raise NotImplementedError


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError


async def send_due(session, *, now, zone, default_locale, policy) -> int:  # type: ignore[no-untyped-def]
    """Called by every clock tick: write the digests and overdue reminders that are due today
    and not yet written; return how many messages were written."""
    return 0
