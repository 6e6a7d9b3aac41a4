"""Telegram, through python-telegram-bot: updates in (long polling or a webhook), messages out.

Everything Telegram-specific stays here: parsing updates into Incoming (`updates`), HTML
rendering with every piece of text escaped, splitting over-long texts, inline keyboards and
Telegram's errors as neutral delivery outcomes (`rendering`), and the channel itself, which
acknowledges button presses and sets the command menus (`channel`).
"""

from __future__ import annotations

from .channel import ACKNOWLEDGED_KEPT, ALLOWED_UPDATES, DESCRIPTIONS, MENU, TelegramChannel
from .rendering import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    caption,
    classify,
    keyboard,
    render,
    split_text,
    utf16_length,
)
from .updates import NAME, parse

__all__ = [
    "ACKNOWLEDGED_KEPT",
    "ALLOWED_UPDATES",
    "CAPTION_LIMIT",
    "DESCRIPTIONS",
    "MENU",
    "NAME",
    "TEXT_LIMIT",
    "TelegramChannel",
    "caption",
    "classify",
    "keyboard",
    "parse",
    "render",
    "split_text",
    "utf16_length",
]
