"""The facilitator at and after the dialogue: answered in the room, commitments made there."""

from __future__ import annotations

from handlers.context import Context


async def show(ctx: Context) -> None:
    raise NotImplementedError


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError


async def on_text(ctx: Context) -> None:
    raise NotImplementedError
