"""Button data: one typed codec for every button the bot shows (after aiogram's CallbackData).

A button's data comes back from the person's app, so it is input like any other: it may be
stale (a button of an old message), replayed, or forged by hand ("r:²:y",
"r:99999999999999999999:y"). Each kind of button is a `Format`: a prefix and typed fields
joined by ":", e.g. `r:<invitation>:<y|n>`. Handlers build data with `Format.build(...)`, which
refuses a value the format cannot carry and anything over Telegram's 64 bytes (a bug, said at
once); the router reads it back with `parse(data)`, which returns a `Pressed` with typed values
or None for anything that is not exactly what the bot builds. Integers are ASCII digits only, in
canonical form ("²".isdigit() is True but int("²") fails; "007" is not built), and bounded to fit
the database's integer columns; enums and short tokens are checked against their alphabets.

The data format is the one the bot has always written, so the buttons of messages already in
people's chats (and those storage/invitations.py writes in SQL) keep working.

| prefix | flow                          | formats (see the table below)                           |
|--------|-------------------------------|---------------------------------------------------------|
| m      | menu                          | m:ask, m:mine, m:help, m:lang, m:link                    |
| c      | consent before an account     | c:lang|ok|no:<locale>[:<start code>]                    |
| l      | language                      | l:<locale>                                              |
| x      | delete my data                | x:yes, x:no                                             |
| r      | an invitation's answer        | r:<invitation>:y|n                                      |
| a      | asking a question             | a:<nonce>:<step>, a:<nonce>:d:<dialogue>, a:<nonce>:t:<topic> |
|        | … by voice                    | a:<nonce>:v:ok|type (send the voice note, or type instead) |
| f      | feedback on an answer         | f:<ticket>:<about>:y|n, f:<ticket>:<about>:r:<n>, f:x   |
| u      | other people's questions      | u:b, u:p:<page>, u:s:<ticket>                           |
| s      | moderation (facilitator)      | s:q, s:<step>:<ticket>, s:rr|mm|tt|gg:<ticket>:<value>  |
|        | … a voice question            | s:v:l|w:<ticket> (listen again, write it down)          |
| o      | inbox (official)              | o:i[:<page>], o:<step>:<ticket>, o:k…, o:<step>:<nonce>… |
| g      | at the dialogue (facilitator) | g:r, g:d|a:<dialogue>:<page>, g:<step>:<ticket>, …      |
| d      | the digest (facilitator)      | d:n                                                     |
| v      | answering a consultation      | v:<nonce>:<action>[:<number>], v:-:open:<consultation>  |
| w      | opinions into themes (facil.) | w:<nonce>:<action>[:<number>]                           |
| h      | an answer to hear ("🔊")       | h:<answer>                                              |
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.core.i18n import SUPPORTED

DATA_LIMIT = 64  # bytes of Telegram's callback_data
SEPARATOR = ":"
INT_MAX = 2**31 - 1  # the database's INTEGER columns
PAGE_MAX = 100_000
DAYS_MAX = 3650


class Invalid(ValueError):
    """A value a button cannot carry, or data over the limit: refused when it is built."""


class Field:
    """One typed part of a button's data."""

    def __init__(self, name: str):
        self.name = name

    def decode(self, text: str) -> Any:
        """The value, or None if `text` is not one this field writes."""
        raise NotImplementedError

    def encode(self, value: Any) -> str:
        text = self.text(value)
        if self.decode(text) != value:
            raise Invalid(f"{self.name}: {value!r} cannot be carried by a button")
        return text

    def text(self, value: Any) -> str:
        return value if isinstance(value, str) else ""


_CANONICAL = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)


class Int(Field):
    """A bounded whole number, in ASCII digits without leading zeros."""

    def __init__(self, name: str, low: int = 1, high: int = INT_MAX):
        super().__init__(name)
        self.low, self.high = low, high

    def decode(self, text: str) -> int | None:
        if _CANONICAL.fullmatch(text) is None:
            return None
        value = int(text)
        return value if self.low <= value <= self.high else None

    def text(self, value: Any) -> str:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


class Token(Field):
    """A short token of a fixed ASCII alphabet (a ticket, a nonce, a code)."""

    def __init__(self, name: str, pattern: str):
        super().__init__(name)
        self.pattern = re.compile(pattern, re.ASCII)

    def decode(self, text: str) -> str | None:
        return text if self.pattern.fullmatch(text) else None


class Choice(Field):
    """One of a few known words."""

    def __init__(self, name: str, *values: str):
        super().__init__(name)
        self.values = values

    def decode(self, text: str) -> str | None:
        return text if text in self.values else None


class About(Token):
    """What feedback is on: "a<answer>" or "c<commitment>.<version>", ids bounded."""

    def __init__(self, name: str):
        super().__init__(name, r"a(0|[1-9][0-9]{0,9})|c(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})")

    def decode(self, text: str) -> str | None:
        found = self.pattern.fullmatch(text)
        if found is None or any(int(n) > INT_MAX for n in found.groups() if n is not None):
            return None
        return text


@dataclass(frozen=True, eq=False)
class Format:
    """One kind of button: constant parts (the prefix first) and typed fields, in order.

    The last `optional` fields may be left out (built from None, read back as None).
    """

    name: str
    parts: tuple[str | Field, ...]
    optional: int = 0

    @property
    def prefix(self) -> str:
        first = self.parts[0]
        assert isinstance(first, str)
        return first

    @property
    def fields(self) -> Iterator[Field]:
        return (p for p in self.parts if isinstance(p, Field))

    def build(self, **values: Any) -> str:
        """The data for these values; Invalid for a value the button cannot carry, a missing
        or unknown one, or data over 64 bytes."""
        names = {f.name for f in self.fields}
        if set(values) - names:
            raise Invalid(f"{self.name}: unknown fields {sorted(set(values) - names)}")
        pieces: list[str] = []
        for index, part in enumerate(self.parts):
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = values.get(part.name)
            if value is None:
                if index >= len(self.parts) - self.optional and all(
                    values.get(p.name) is None for p in self.parts[index:] if isinstance(p, Field)
                ):
                    break
                raise Invalid(f"{self.name}: {part.name} is required")
            pieces.append(part.encode(value))
        data = SEPARATOR.join(pieces)
        if len(data.encode()) > DATA_LIMIT:
            raise Invalid(f"{self.name}: {len(data.encode())} bytes, over {DATA_LIMIT}")
        return data

    def read(self, pieces: list[str]) -> Pressed | None:
        if not len(self.parts) - self.optional <= len(pieces) <= len(self.parts):
            return None
        values: list[tuple[str, Any]] = []
        for index, part in enumerate(self.parts):
            text = pieces[index] if index < len(pieces) else None
            if isinstance(part, str):
                if text != part:
                    return None
                continue
            if text is None:
                values.append((part.name, None))
                continue
            value = part.decode(text)
            if value is None:
                return None
            values.append((part.name, value))
        return Pressed(self, tuple(values))


@dataclass(frozen=True)
class Pressed:
    """A button's data read back: its format and its typed values."""

    format: Format
    values: tuple[tuple[str, Any], ...]

    def __getitem__(self, name: str) -> Any:
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            found = self[name]
        except KeyError:
            return default
        return default if found is None else found

    @property
    def prefix(self) -> str:
        return self.format.prefix


# The fields

TICKET = Token("ticket", r"[0-9A-Z]{1,12}")
NONCE = Token("nonce", r"[0-9a-f]{1,16}")
AGENCY = Token("agency", r"[a-z0-9]{2,16}")
TOPIC = Token("topic", r"[a-z0-9_]{1,16}")
START_CODE = Token("code", r"[A-Za-z0-9_]{1,32}")
PAGE = Int("page", 0, PAGE_MAX)
DAYS = Int("days", 1, DAYS_MAX)
LOCALE = Choice("locale", *SUPPORTED)

# Citizens

MENU = Format("menu", ("m", Choice("item", "ask", "mine", "help", "lang", "link")))
CONSENT = Format("consent", ("c", Choice("choice", "lang", "ok", "no"), LOCALE, START_CODE), 1)
LANGUAGE = Format("language", ("l", LOCALE))
DELETE = Format("delete", ("x", Choice("answer", "yes", "no")))
INVITATION = Format("invitation", ("r", Int("invitation"), Choice("answer", "y", "n")))
ASK_STEPS = ("cancel", "resume", "restart", "anon", "named", "send", "edit", "how")
ASK = Format("ask", ("a", NONCE, Choice("step", *ASK_STEPS)))
ASK_DIALOGUE = Format("ask dialogue", ("a", NONCE, "d", Int("dialogue")))
ASK_TOPIC = Format("ask topic", ("a", NONCE, "t", TOPIC))
ASK_VOICE = Format("ask voice", ("a", NONCE, "v", Choice("choice", "ok", "type")))
FEEDBACK = Format("feedback", ("f", TICKET, About("about"), Choice("choice", "y", "n")))
FEEDBACK_REASON = Format(
    "feedback reason", ("f", TICKET, About("about"), "r", Int("reason", 0, 99))
)
FEEDBACK_CANCEL = Format("feedback cancel", ("f", "x"))
BROWSE = Format("browse", ("u", "b"))
BROWSE_PAGE = Format("browse page", ("u", "p", PAGE))
SUPPORT = Format("support", ("u", "s", TICKET))

# Facilitators: moderation

MODERATION_STEPS = ("a", "r", "rt", "m", "mt", "t", "g", "x", "c", "k")
MODERATE = Format("moderate", ("s", "q"))
MODERATION = Format("moderation", ("s", Choice("step", *MODERATION_STEPS), TICKET))
MODERATION_REASON = Format("moderation reason", ("s", "rr", TICKET, Int("reason", 0, 99)))
MODERATION_MERGE = Format(
    "moderation merge", ("s", "mm", TICKET, Token("into", TICKET.pattern.pattern))
)
MODERATION_TOPIC = Format("moderation topic", ("s", "tt", TICKET, TOPIC))
MODERATION_AGENCY = Format("moderation agency", ("s", "gg", TICKET, AGENCY))
MODERATION_VOICE = Format("moderation voice", ("s", "v", Choice("choice", "l", "w"), TICKET))

# Officials: the inbox

INBOX = Format("inbox", ("o", "i", PAGE), 1)
INBOX_QUESTION = Format("inbox question", ("o", Choice("step", "q", "a", "c", "w", "r"), TICKET))
INBOX_FORWARD = Format("inbox forward", ("o", "wt", TICKET, AGENCY))
COMMITMENTS = Format("commitments", ("o", "k"))
COMMITMENTS_PAGE = Format("commitments page", ("o", "kl", PAGE))
COMMITMENT = Format("commitment", ("o", Choice("step", "k", "kp", "kf"), Int("commitment")))
INBOX_DRAFT = Format("inbox draft", ("o", Choice("step", "pub", "re", "x", "ra", "sk"), NONCE))
INBOX_DEADLINE = Format("inbox deadline", ("o", "d", NONCE, DAYS))
INBOX_OTHER_DATE = Format("inbox other date", ("o", "d", NONCE, "o"))

# Facilitators: at and after the dialogue; the digest

ROOM = Format("room", ("g", "r"))
ROOM_DIALOGUE = Format("room dialogue", ("g", Choice("step", "d", "a"), Int("dialogue"), PAGE))
ROOM_QUESTION = Format("room question", ("g", Choice("step", "q", "i", "c"), TICKET))
ROOM_GENERAL = Format("room general commitment", ("g", "gc", Int("dialogue")))
ROOM_ATTENDANCE = Format("room attendance", ("g", "at", Int("invitation"), PAGE))
ROOM_DRAFT = Format("room draft", ("g", Choice("step", "is", "cr", "x"), NONCE))
ROOM_AGENCY = Format("room agency", ("g", "ca", NONCE, AGENCY))
ROOM_DEADLINE = Format("room deadline", ("g", "cd", NONCE, DAYS))
DIGEST = Format("digest", ("d", "n"))
LISTEN = Format("listen", ("h", Int("answer")))

# Consultation (tham vấn): the flow's nonce ("-" on an announcement's button), an action and an
# optional argument (a consultation, a choice's index, a value of the scale, a theme, a
# question's id from the plan); the flow checks the argument against its own state.
CONSULT_ACTION = Token("action", r"[a-z]{1,8}")
CONSULT_ARG = Token("arg", r"[A-Za-z0-9_]{1,32}")
CONSULTATION = Format(
    "consultation", ("v", Token("nonce", r"[0-9a-f]{1,16}|-"), CONSULT_ACTION, CONSULT_ARG), 1
)
THEMES = Format("themes", ("w", NONCE, CONSULT_ACTION, CONSULT_ARG), 1)

FORMATS: tuple[Format, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Format))
_BY_PREFIX: dict[str, list[Format]] = {}
for _format in FORMATS:
    _BY_PREFIX.setdefault(_format.prefix, []).append(_format)


def parse(data: object) -> Pressed | None:
    """The button this data is, or None: stale, forged, malformed or over 64 bytes."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8", "replace")) > DATA_LIMIT:
        return None
    pieces = data.split(SEPARATOR)
    for candidate in _BY_PREFIX.get(pieces[0], ()):
        pressed = candidate.read(pieces)
        if pressed is not None:
            return pressed
    return None
