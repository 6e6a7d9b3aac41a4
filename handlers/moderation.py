"""The facilitator's moderation queue (/duyet): approve, reject, merge, re-topic, mark sensitive."""

from __future__ import annotations

from handlers.context import Context


async def queue(ctx: Context) -> None:
    raise NotImplementedError


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError


async def on_text(ctx: Context) -> None:
    raise NotImplementedError
