"""One module or package per platform, each with the one contract, `bot.core.messages.Channel`:
verify(raw, headers), parse(raw) -> Incoming (pure), complete, acknowledge, shown, send. The
dispatcher, the intake and the outbox know nothing else about a platform."""

from __future__ import annotations

from bot.core.messages import Channel

__all__ = ["Channel"]
