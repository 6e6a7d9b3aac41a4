"""Zalo's webhook events: the signature over the raw body, each event's key and age, and the
event as an Incoming (pure: no database, no network)."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import safe_json
from bot.core.messages import Address, Incoming, Kind

NAME = "zalo"
SIGNATURE_HEADER = "x-zevent-signature"
MAX_EVENT_BYTES = 1 << 20  # an event is a few kilobytes (bot.web refuses bigger bodies)

# Webhook events a person sends that the bot does not read (shown a short helpful reply).
MEDIA_EVENTS = {
    "user_send_image",
    "user_send_sticker",
    "user_send_gif",
    "user_send_audio",
    "user_send_video",
    "user_send_file",
    "user_send_location",
}


def clean_name(raw: str) -> str:
    """A display name as stored: NFC, no control characters, spaces collapsed, bounded."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return " ".join(text.split())[:200]


def verify_signature(
    raw: bytes, headers: Mapping[str, str], *, app_id: str, oa_secret_key: str
) -> bool:
    """Is this webhook request Zalo's? sha256(app_id + raw body + timestamp + OA secret key) as
    hex in `X-ZEvent-Signature`, with or without "mac=", compared in constant time.

    The timestamp is read from the raw JSON itself; nothing else of the body is looked at."""
    signature = ""
    for name, value in headers.items():
        if name.lower() == SIGNATURE_HEADER:
            signature = value.strip()
            break
    if not signature or not app_id or not oa_secret_key:
        return False
    if signature[:4].lower() == "mac=":
        signature = signature[4:].strip()
    try:
        event = safe_json.loads(raw, max_bytes=MAX_EVENT_BYTES)
    except safe_json.BadJson:
        return False
    timestamp = event.get("timestamp") if isinstance(event, dict) else None
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        return False
    expected = hashlib.sha256(
        app_id.encode() + raw + str(timestamp).encode() + oa_secret_key.encode()
    ).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode("ascii", "replace"))


def _audio_url(message: Mapping[str, Any]) -> str:
    """The https address of a voice message's audio (the first audio attachment), or ""."""
    attachments = message.get("attachments")
    for item in attachments if isinstance(attachments, list) else ():
        payload = item.get("payload") if isinstance(item, dict) else None
        if item.get("type") in ("audio", "voice") and isinstance(payload, dict):
            url = payload.get("url")
            if isinstance(url, str) and url.startswith("https://") and len(url) <= 512:
                return url
    return ""


def event_age(event: Mapping[str, Any], now: datetime) -> timedelta | None:
    """How long ago Zalo says the event happened (negative: in the future), from its
    "timestamp" (milliseconds); None if it has none that reads as a number."""
    stamp = event.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, str | int):
        return None
    text = str(stamp)
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        return None
    return now - datetime.fromtimestamp(int(text) / 1000, UTC)


def _sender(event: Mapping[str, Any]) -> str:
    """The person an event is from: `sender` for messages, `follower` for (un)follow."""
    for field in ("sender", "follower", "user"):
        value = event.get(field)
        if isinstance(value, dict) and value.get("id"):
            return str(value["id"])
    return ""


def event_key(event: Mapping[str, Any]) -> str | None:
    """The event's id for exactly-once processing: Zalo's msg_id; for events without one
    (follow, user_submit_info) a hash of name, sender and timestamp, so that the key, which
    is logged, names nobody. None when there is nothing to make one from."""
    message = event.get("message")
    if isinstance(message, dict) and message.get("msg_id"):
        return str(message["msg_id"])[:128]
    name, sender, timestamp = event.get("event_name"), _sender(event), event.get("timestamp")
    if not name or timestamp is None:
        return None
    digest = hashlib.sha256(f"{name}\x00{sender}\x00{timestamp}".encode()).hexdigest()
    return f"e:{digest[:40]}"


def read(raw: bytes) -> tuple[str, str, str, dict[str, Any]] | None:
    """A webhook body as (event name, sender, key, event), or None for what is no event."""
    try:
        event = safe_json.loads(raw, max_bytes=MAX_EVENT_BYTES)
    except safe_json.BadJson:
        return None
    if not isinstance(event, dict):
        return None
    name, user_id, key = event.get("event_name"), _sender(event), event_key(event)
    if not isinstance(name, str) or not user_id or key is None:
        return None
    return name, user_id, key, event


def to_incoming(name: str, user_id: str, key: str, event: Mapping[str, Any]) -> Incoming | None:
    """An event as an Incoming, or None for what the bot does not answer (the OA's own messages
    echoed, delivery and seen receipts, unfollow). A text stays a text here: whether it picks a
    choice shown earlier is read against the stored choices (`pick`)."""
    address = Address(NAME, user_id)
    if name == "follow":
        # Following the OA is Zalo's "start": greet and offer the consent statement.
        return Incoming(address, key, Kind.COMMAND, command="start")
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    if name == "user_send_text":
        text = str(message.get("text") or "")
        command, _, rest = text[1:].partition(" ") if text.startswith("/") else ("", "", "")
        if command.strip():
            return Incoming(
                address, key, Kind.COMMAND, command=command.strip().lower(), text=rest.strip()
            )
        return Incoming(address, key, Kind.TEXT, text=text)
    if name == "user_submit_info":
        info = event.get("info") if isinstance(event.get("info"), dict) else {}
        return Incoming(
            address,
            key,
            Kind.CONTACT,
            phone=str(info.get("phone") or ""),
            display_name=str(info.get("name") or ""),
        )
    if name == "user_send_audio":
        url = _audio_url(message)
        if url:  # a voice message may be a question (handlers.ask): where Zalo keeps it
            return Incoming(address, key, Kind.VOICE, voice=url)
    if name in MEDIA_EVENTS:
        return Incoming(address, key, Kind.MEDIA)
    if name.startswith("user_send_"):
        return Incoming(address, key, Kind.OTHER)  # a link, a business card, …
    return None
