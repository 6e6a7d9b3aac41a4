"""Citizens browse the approved questions of their dialogues and press "Tôi cũng muốn hỏi"."""

from __future__ import annotations

from handlers.context import Context


async def browse(ctx: Context) -> None:
    raise NotImplementedError


async def on_button(ctx: Context, parts: list[str]) -> None:
    raise NotImplementedError
