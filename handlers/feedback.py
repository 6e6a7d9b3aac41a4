""" "Hài lòng" / "Chưa hài lòng" on an answer or a commitment; a reason reopens the item."""

from __future__ import annotations

from handlers.context import Context


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError


async def on_text(ctx: Context) -> None:
    raise NotImplementedError
