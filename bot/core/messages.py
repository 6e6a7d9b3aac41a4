"""Channel-neutral message types: what every channel turns its updates into, and what handlers return."""

from __future__ import annotations

import base64
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Address:
    """Who a message comes from or goes to: a channel and that channel's id for the person."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


class Kind(StrEnum):
    """What an incoming update is, once the channel has parsed it."""

    COMMAND = "command"
    TEXT = "text"
    BUTTON = "button"
    CONTACT = "contact"
    MEDIA = "media"  # sticker, photo, file: nothing the bot reads
    VOICE = "voice"  # a voice note or an audio file: may be a question (handlers.ask)
    EDITED = "edited"
    GROUP = "group"  # anything from a group chat: the bot works only one to one
    OTHER = "other"
    # The person stopped following the bot (Zalo's unfollow): nothing is answered, their
    # account is marked unreachable until they write again.
    UNFOLLOW = "unfollow"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a person, stripped of its platform.

    `key` identifies the update on its channel (Telegram's update_id, Zalo's msg_id) so that
    the dispatcher processes it exactly once.
    """

    address: Address
    key: str
    kind: Kind
    text: str = ""  # the text, or the command's arguments
    command: str = ""  # without the slash, lower case
    data: str = ""  # a button's payload
    display_name: str = ""
    phone: str = ""
    language: str = ""  # the language the platform reports, a hint only
    callback_id: str | None = None  # a button press to acknowledge
    voice: str = ""  # a voice note's reference on its channel (Telegram's file id)
    voice_seconds: int = 0  # its length, as the platform says


# What a person sends is cleaned once, before anything reads or stores it (Dispatcher.dispatch):
# NFC, no control characters but newline and tab (PostgreSQL refuses NUL in text and JSON), no
# bidi overrides or isolates (they reorder what officials read), no lone surrogates, bounded.
TEXT_LIMIT = 4096  # Telegram's longest message
NAME_LIMIT = 128
SHORT_LIMIT = 64  # a command, a phone number, a language code
DATA_LIMIT = 256  # a button's data (Telegram's are 64 bytes; the codec checks them)
VOICE_LIMIT = 512  # a voice note's file id or address
VOICE_SECONDS_LIMIT = 24 * 3600
_VOICE_REF = re.compile(r"[A-Za-z0-9_\-:/.?=&%+]+")
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """A person's text as stored: line ends as "\n", NFC, no controls but "\n" and "\t", no bidi
    overrides or isolates, at most `limit` characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _UNWANTED.sub("", text))[:limit]


def clean_name(text: str, limit: int = NAME_LIMIT) -> str:
    """A name or a short value on one line: cleaned, runs of white space made one space."""
    return " ".join(clean_text(text, limit * 4).split())[:limit]


def cleaned(incoming: Incoming) -> Incoming:
    """The update with every text a person controls cleaned (see clean_text)."""
    return dataclasses.replace(
        incoming,
        text=clean_text(incoming.text),
        command=clean_name(incoming.command, SHORT_LIMIT),
        data=incoming.data[:DATA_LIMIT],
        display_name=clean_name(incoming.display_name),
        phone=clean_name(incoming.phone, SHORT_LIMIT),
        language=clean_name(incoming.language, SHORT_LIMIT),
        voice=clean_voice(incoming.voice),
        voice_seconds=min(max(int(incoming.voice_seconds or 0), 0), VOICE_SECONDS_LIMIT),
    )


def clean_voice(ref: str) -> str:
    """A voice note's reference as kept: plain ASCII of a file id or an address, bounded, or ""."""
    return ref if len(ref) <= VOICE_LIMIT and _VOICE_REF.fullmatch(ref or "") else ""


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to send. `title` is shown bold where the channel can; all text is plain.

    `photo` is a PNG shown before the text (a chart), with the title as its caption.
    `voice` is a voice note's reference on the recipient's channel, sent before the text.
    """

    text: str
    title: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    standalone: bool = False  # keep as a message of its own (e.g. a text given back to copy)
    ask_phone: str = ""  # the label of the platform's "share my phone number" button, if any
    clear_keyboard: bool = False  # take away a keyboard shown earlier (after a phone is shared)
    photo: bytes = b""
    voice: str = ""
    voice_audio: bytes = b""  # an OGG/Opus voice note to upload (an answer to listen to)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "text": self.text,
            "title": self.title,
            "buttons": [[[b.label, b.data] for b in row] for row in self.buttons],
        }
        if self.ask_phone:
            body["ask_phone"] = self.ask_phone
        if self.clear_keyboard:
            body["clear_keyboard"] = True
        if self.photo:
            body["photo"] = base64.b64encode(self.photo).decode("ascii")
        if self.voice:
            body["voice"] = self.voice
        if self.voice_audio:
            body["voice_audio"] = base64.b64encode(self.voice_audio).decode("ascii")
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Reply:
        return cls(
            text=body["text"],
            title=body.get("title", ""),
            buttons=tuple(
                tuple(Button(label, data) for label, data in row) for row in body.get("buttons", ())
            ),
            ask_phone=body.get("ask_phone", ""),
            clear_keyboard=body.get("clear_keyboard", False),
            photo=base64.b64decode(body["photo"]) if body.get("photo") else b"",
            voice=body.get("voice", ""),
            voice_audio=base64.b64decode(body["voice_audio"]) if body.get("voice_audio") else b"",
        )


MERGE_LIMIT = 3000


def merge(replies: list[Reply]) -> list[Reply]:
    """Join consecutive replies into as few messages as read well: fewer messages for people on
    cheap phones, and fewer against the platforms' one-message-a-second-per-chat limit.

    A reply is joined to the next unless it has buttons, either is standalone or carries a
    photo, or the two together would be long.
    """
    merged: list[Reply] = []
    for reply in replies:
        if merged:
            last = merged[-1]
            joinable = not (
                last.buttons
                or last.standalone
                or reply.standalone
                or last.photo
                or reply.photo
                or last.voice
                or reply.voice
                or last.voice_audio
                or reply.voice_audio
                or last.ask_phone
                or (reply.clear_keyboard and reply.buttons)
            )
            if joinable and len(last.text) + len(reply.text) + len(reply.title) < MERGE_LIMIT:
                heading = f"{reply.title}\n" if reply.title else ""
                merged[-1] = Reply(
                    text=f"{last.text}\n\n{heading}{reply.text}" if last.text else reply.text,
                    title=last.title or (reply.title if not last.text else ""),
                    buttons=reply.buttons,
                    ask_phone=reply.ask_phone,
                    clear_keyboard=last.clear_keyboard or reply.clear_keyboard,
                )
                continue
        merged.append(reply)
    return merged


@dataclass(slots=True)
class Outcome:
    """What the dispatcher did with one update."""

    duplicate: bool = False
    replies: list[Reply] = field(default_factory=list)
    notice: str = ""  # a short text for the button press acknowledgement


class SendResult(StrEnum):
    """A delivery outcome, whatever the platform said: courier's few neutral errors."""

    SENT = "sent"
    THROTTLED = "throttled"  # try again after `retry_after`
    UNREACHABLE = "unreachable"  # blocked, deleted, never to be retried
    FAILED = "failed"  # refused for good (bad request)
    RETRY = "retry"  # nothing left the machine (connection refused): safe to try again
    UNKNOWN = "unknown"  # the request may have arrived: never resent by itself
    # The platform takes messages to a person only within a window after they last wrote to
    # us (Zalo -230/-232): not sent, never retried on that channel; the outbox delivers it
    # through the household's other chat, or it goes on the ward's printed list.
    WINDOW = "window"


@dataclass(frozen=True, slots=True)
class Delivery:
    result: SendResult
    retry_after: float = 0.0
    reason: str = ""


_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


@dataclass(frozen=True, slots=True)
class Shown:
    """The choices last shown to a person on a channel whose buttons send back text (Zalo's
    `oa.query.show` sends the label) or a number: what each label and number stands for.
    Kept sealed in the person's conversation row (button data names tickets)."""

    labels: Mapping[str, str]
    numbers: Mapping[str, str]
    numbered: bool  # a typed number picks only when the choices were shown numbered

    @classmethod
    def of(cls, buttons: list[Button], *, numbered: bool) -> Shown:
        labels = [b.label for b in buttons]
        return cls(
            # a label shown twice picks neither: only its number tells them apart
            labels={b.label: b.data for b in buttons if labels.count(b.label) == 1},
            numbers={str(n): b.data for n, b in enumerate(buttons, start=1)},
            numbered=numbered,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": dict(self.labels),
            "numbers": dict(self.numbers),
            "numbered": self.numbered,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Shown:
        labels, numbers = body.get("labels"), body.get("numbers")
        return cls(
            labels=labels if isinstance(labels, dict) else {},
            numbers=numbers if isinstance(numbers, dict) else {},
            numbered=bool(body.get("numbered")),
        )

    def pick(self, text: str) -> str | None:
        """The data of the choice this text picks: a label as shown (or in another case), or
        the number of a numbered option; None when it picks nothing."""
        wanted = text.strip()
        if not wanted:
            return None
        if wanted in self.labels:
            return self.labels[wanted]
        folded = {label.strip().casefold(): data for label, data in self.labels.items()}
        if wanted.casefold() in folded:
            return folded[wanted.casefold()]
        number = _NUMBER.match(wanted)
        if number and self.numbered:
            return self.numbers.get(str(int(number.group(1))))
        return None


class Channel(Protocol):
    """What every channel is to the rest of the service (courier's shape): the web app verifies
    with it, the intake parses with it, the outbox sends with it, and the dispatcher asks it
    which choices a reply shows. Nothing else of a platform is known outside its package."""

    name: str
    rate: float  # messages a second the platform takes from us, all chats together
    spacing: timedelta  # the least time between two messages to one person
    # Its buttons send back text (Zalo: a label, or an option's number): the dispatcher keeps
    # the choices a reply shows (`shown`) and reads a text against them.
    text_choices: bool

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Is this webhook body the platform's? A signature or secret over the raw bytes,
        compared in constant time."""
        ...

    def parse(self, raw: bytes) -> Incoming | None:
        """A stored update as an Incoming, or None for what the bot does not take. Pure: no
        database, no network."""
        ...

    async def complete(self, incoming: Incoming) -> Incoming:
        """What the update itself does not carry, asked of the platform (Zalo: the person's
        profile name); the update as it is when there is nothing to ask."""
        ...

    def acknowledge(self, raw: bytes) -> None:
        """Answer a button press at once, before the update's transaction (in the background:
        taking updates in never waits on it); nothing for other updates."""
        ...

    def shown(self, reply: Reply) -> Shown | None:
        """The choices this reply shows whose answer comes back as text, to be kept with the
        conversation; None where a press brings back its data itself (Telegram)."""
        ...

    async def send(self, address: Address, reply: Reply) -> Delivery:
        """Send one reply; map whatever the platform answers to a neutral Delivery."""
        ...


def split_text(text: str, limit: int, *, size: Callable[[str], int] = len) -> list[str]:
    """Cut a text into parts of at most `limit` (as `size` measures a part: characters, or
    Telegram's UTF-16 code units), at a paragraph, a line or a space where one is in the
    second half of the part."""
    parts: list[str] = []
    while size(text) > limit:
        end = _longest_prefix(text, limit, size)
        window = text[:end]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > end // 2:
                parts.append(window[:cut].rstrip())
                text = text[cut + len(separator) :]
                break
        else:
            parts.append(window)
            text = text[end:]
    if text.strip() or not parts:
        parts.append(text)
    return parts


def _longest_prefix(text: str, limit: int, size: Callable[[str], int]) -> int:
    """How many characters of `text` fit in `limit` (one at least, so that a part is never
    empty)."""
    if size is len:
        return limit
    total, end = 0, 0
    for index, char in enumerate(text):
        total += size(char)
        if total > limit:
            break
        end = index + 1
    return max(end, 1)
