"""Telegram's updates as Incoming (pure: PTB's Update objects in, no network)."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.constants import MessageEntityType

from bot.core.messages import Address, Incoming, Kind

NAME = "telegram"


def parse(update: Update) -> Incoming | None:
    """A Telegram update as an Incoming, or None for the kinds the bot does not take."""
    key = str(update.update_id)
    if update.callback_query is not None:
        return _press(update.callback_query, key)
    if update.edited_message is not None:
        message = update.edited_message
        kind = Kind.EDITED if message.chat.type == "private" else Kind.GROUP
        return Incoming(Address(NAME, str(message.chat.id)), key, kind)
    message = update.message
    if message is None:
        return None
    address = Address(NAME, str(message.chat.id))
    if message.chat.type != "private":
        # Answer only what is addressed to the bot, so as not to chatter in a group.
        text = message.text or ""
        if text.startswith("/"):
            return Incoming(address, key, Kind.GROUP)
        return None
    return _private(message, address, key)


def _press(query: CallbackQuery, key: str) -> Incoming:
    """A button press; from a group, only to say the bot works one to one."""
    message = query.message
    chat = message.chat if message is not None else None
    if chat is not None and chat.type != "private":
        return Incoming(Address(NAME, str(chat.id)), key, Kind.GROUP, callback_id=query.id)
    return Incoming(
        Address(NAME, str(chat.id if chat is not None else query.from_user.id)),
        key,
        Kind.BUTTON,
        data=query.data or "",
        display_name=query.from_user.full_name,
        language=query.from_user.language_code or "",
        callback_id=query.id,
    )


def _private(message: Message, address: Address, key: str) -> Incoming:
    """A message in a private chat: a command, a text, a contact, a voice note, or media."""
    user = message.from_user
    common = {
        "display_name": user.full_name if user else "",
        "language": (user.language_code or "") if user else "",
    }
    text = message.text
    if text is not None:
        entity = message.entities[0] if message.entities else None
        if (
            entity is not None
            and entity.type == MessageEntityType.BOT_COMMAND
            and entity.offset == 0
        ):
            command = text[1 : entity.length].split("@")[0].lower()
            return Incoming(
                address,
                key,
                Kind.COMMAND,
                command=command,
                text=text[entity.length :].strip(),
                **common,
            )
        return Incoming(address, key, Kind.TEXT, text=text, **common)
    if message.contact is not None:
        # Only one's own number links a household: a forwarded contact card is someone else's.
        own = user is not None and message.contact.user_id == user.id
        phone = message.contact.phone_number if own else ""
        return Incoming(address, key, Kind.CONTACT, phone=phone, **common)
    audio = message.voice or message.audio
    if audio is not None:
        # A voice note may be a question (handlers.ask): its file id, and its length.
        seconds = audio.to_dict().get("duration", 0)  # the attribute warns in PTB 22
        return Incoming(
            address,
            key,
            Kind.VOICE,
            voice=audio.file_id,
            voice_seconds=seconds if isinstance(seconds, int) else 0,
            **common,
        )
    if message.effective_attachment is not None:
        return Incoming(address, key, Kind.MEDIA, **common)
    return Incoming(address, key, Kind.OTHER, **common)
