"""An official's inbox (/hopthu): answer, commit, forward, mark answered at the dialogue."""

from __future__ import annotations

from handlers.context import Context


async def show(ctx: Context) -> None:
    raise NotImplementedError


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError


async def on_text(ctx: Context) -> None:
    raise NotImplementedError
