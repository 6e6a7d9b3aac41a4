"""Telegram's rendering: HTML with every piece of text escaped, over-long texts split (lengths
in UTF-16 code units, as Telegram counts), inline keyboards, and Telegram's errors as neutral
delivery outcomes."""

from __future__ import annotations

import html
import warnings
from datetime import timedelta

import httpx
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.core import messages
from bot.core.messages import Delivery, Reply, SendResult

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted after entity parsing
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024, likewise
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into parts of at most `limit` UTF-16 code units (bot.core.messages)."""
    return messages.split_text(text, limit, size=utf16_length)


def render(reply: Reply) -> list[str]:
    """The reply as HTML parts: the title in bold, everything escaped."""
    title = f"<b>{html.escape(reply.title)}</b>\n\n" if reply.title else ""
    budget = TEXT_LIMIT - (utf16_length(reply.title) + 2 if reply.title else 0)
    chunks = split_text(reply.text, budget) if reply.text else [""]
    first, rest = chunks[0], chunks[1:]
    rest = [part for chunk in rest for part in split_text(chunk)]
    rendered = [title + html.escape(first)] + [html.escape(part) for part in rest]
    return [part for part in rendered if part.strip()] or [html.escape(reply.title or "…")]


def caption(title: str) -> str:
    """A photo's caption: the title in bold, escaped, cut to what Telegram takes."""
    if not title:
        return ""
    if utf16_length(title) > CAPTION_LIMIT:
        title = split_text(title, CAPTION_LIMIT - 1)[0] + "…"
    return f"<b>{html.escape(title)}</b>"


def keyboard(reply: Reply) -> Markup:
    """Inline buttons for choices; the reply keyboard only for sharing a phone number, which
    Telegram offers nowhere else."""
    if reply.ask_phone:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.ask_phone, request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.clear_keyboard:
        return ReplyKeyboardRemove()
    return None


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Delivery:
    """Telegram's errors as neutral outcomes."""
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Delivery(SendResult.THROTTLED, _seconds(error.retry_after), str(error))
    if isinstance(error, Forbidden):
        return Delivery(SendResult.UNREACHABLE, reason=error.message)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return Delivery(SendResult.UNREACHABLE, reason=error.message)
        return Delivery(SendResult.FAILED, reason=error.message)
    if isinstance(error, TimedOut):
        # The request may have reached Telegram: do not send it again by ourselves.
        if isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            return Delivery(SendResult.RETRY, reason=str(error))
        return Delivery(SendResult.UNKNOWN, reason=str(error))
    if isinstance(error, NetworkError):
        if isinstance(error.__cause__, httpx.ConnectError):
            return Delivery(SendResult.RETRY, reason=str(error))
        return Delivery(SendResult.UNKNOWN, reason=str(error))
    return Delivery(SendResult.FAILED, reason=str(error))
