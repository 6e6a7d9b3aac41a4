"""An HTTP fake of the Telegram Bot API, served on 127.0.0.1, for doithoai's tests.

Tests run the real python-telegram-bot ``Application`` in polling mode against this
server (``base_url=f"{fake.url}/bot"``). The fake

* feeds genuine update JSON (built from ``tests/fixtures/telegram/*.json``) through
  ``getUpdates``;
* records every call the bot makes (``calls``) and every message it sent
  (``messages_to``), with the text as the user would see it;
* takes photos uploaded with ``sendPhoto`` (multipart, as PTB sends them) and keeps
  their bytes (``SentMessage.photo``); ``sendVoice`` takes the file id of a voice note a
  user sent (``SentMessage.voice``), as Telegram re-sends a file it keeps, or an uploaded
  OGG/Opus file (``SentMessage.voice_audio``);
* refuses, with Telegram's own HTTP status, error code and description, whatever
  Telegram would refuse (bad HTML, over-long text or caption, 65-byte callback_data,
  unknown chats, a missing or unreadable photo, double-answered callback queries, ...),
  and lists each such refusal in
  ``violations`` so a test can assert the bot never provoked one;
* can inject failures on purpose (``fail_next``, ``block``, ``set_rate_limit``);
  those are expected and are not violations.

Standard library only: the server is an ``http.server.ThreadingHTTPServer`` running in
a daemon thread, and all state is guarded by one ``threading.Condition`` so tests can
block (or ``await``) until the bot has done something.

Typical use::

    fake = FakeBotAPI().start()
    app = Application.builder().token(fake.token).base_url(f"{fake.url}/bot").build()
    ...
    fake.send_text(111, "/start")
    [reply] = await fake.await_messages(111, 1)
    assert "Xin chào" in reply.text
    assert fake.violations == []
    fake.stop()
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import email.parser
import email.policy
import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["Call", "FakeBotAPI", "SentMessage", "parse_html", "utf16_len"]

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"

MAX_MESSAGE_UTF16 = 4096  # Telegram counts message length in UTF-16 code units
MAX_CAPTION_UTF16 = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto's upload limit
MAX_PHOTO_SIDES = 10_000  # width + height
MAX_PHOTO_RATIO = 20
PHOTO_SIZES = (90, 320, 800, 1280)  # the longest side of the sizes Telegram keeps
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_CHARS = 200
MAX_INLINE_BUTTONS = 100
MAX_COMMANDS = 100

# Update types Telegram delivers when allowed_updates was never set (or set to []).
_NOT_DELIVERED_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}

# Form values are JSON-encoded by PTB *except* strings, which are sent as-is; these
# parameters are always strings, so "123" or "true" must not be turned into 123/True.
_STRING_PARAMS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "caption",
    "url",
    "action",
    "description",
    "short_description",
    "language_code",
    "inline_message_id",
    "business_connection_id",
    "message_effect_id",
    "emoji",
    "name",
    "title",
    "query_id",
    "secret_token",
    "ip_address",
}

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,64})?")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_PATH_RE = re.compile(r"/bot([^/]*)/([^/]+)/?")

# Descriptions without the "Bad Request: " prefix that _bad() adds.
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def utf16_len(text: str) -> int:
    """Length as Telegram measures it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------
# Telegram's HTML parse mode
# --------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; str(err) is Telegram's wording."""


_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    """Decodes the HTML entity at src[i] ('&'); None when '&' does not start one."""
    m = _ENTITY_RE.match(src, i)
    if not m:
        return None  # a lone '&' is kept literally, as Telegram does
    name = m.group(1)
    if name.startswith("#"):
        try:
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            if code == 0 or 0xD800 <= code <= 0xDFFF:
                raise ValueError
            return chr(code), m.end()
        except (ValueError, OverflowError):
            pass
    elif name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], m.end()
    # Stricter than Telegram, which shows an unknown entity such as &nbsp; literally: the
    # bot almost certainly meant something else (or forgot to escape), so refuse it.
    raise HtmlParseError(
        f'Unsupported HTML entity "{m.group(0)}" at byte offset {_byte_offset(src, i)}'
    )


def _unescape_attribute(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_entity(value, i)):
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the visible text
    byte_offset: int  # in the source, for error messages
    language: str | None = None


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Parses text the way Telegram's parse_mode=HTML does.

    Returns the visible text and its MessageEntity dicts (UTF-16 offsets); raises
    HtmlParseError with Telegram's description for anything Telegram refuses.
    """
    out: list[str] = []
    pos = 0  # UTF-16 length of the visible text so far
    stack: list[_OpenTag] = []
    entities: list[dict] = []
    i, n = 0, len(src)

    def is_space(ch: str) -> bool:
        return ch in " \t\r\n\f\v"

    while i < n:
        ch = src[i]
        if ch == "&":
            decoded = _decode_entity(src, i)
            if decoded:
                out.append(decoded[0])
                pos += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if ch != "<":
            out.append(ch)
            pos += utf16_len(ch)
            i += 1
            continue

        begin = i
        where = _byte_offset(src, begin)
        if i + 1 < n and src[i + 1] == "/":  # end tag
            j = i + 2
            while j < n and not is_space(src[j]) and src[j] != ">":
                j += 1
            name = src[i + 2 : j].lower()
            while j < n and is_space(src[j]):
                j += 1
            if j >= n or src[j] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {where}")
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {where}")
            tag = stack.pop()
            if name and name != tag.name:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {where}, expected "</{tag.name}>", '
                    f'found "</{name}>"'
                )
            _close_tag(tag, pos, stack, entities)
            i = j + 1
            continue

        # start tag
        j = i + 1
        while j < n and not is_space(src[j]) and src[j] != ">":
            j += 1
        if j >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
        name = src[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and is_space(src[j]):
                j += 1
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
            if src[j] == ">":
                j += 1
                break
            k = j
            while k < n and not is_space(src[k]) and src[k] not in "=>":
                k += 1
            attr = src[j:k].lower()
            while k < n and is_space(src[k]):
                k += 1
            value = ""
            if k < n and src[k] == "=":
                k += 1
                while k < n and is_space(src[k]):
                    k += 1
                if k >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
                if src[k] in "\"'":
                    end = src.find(src[k], k + 1)
                    if end == -1:
                        raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
                    value, k = src[k + 1 : end], end + 1
                else:
                    start = k
                    while k < n and not is_space(src[k]) and src[k] != ">":
                        k += 1
                    value = src[start:k]
                value = _unescape_attribute(value)
            attrs[attr] = value  # a bare attribute (<blockquote expandable>) has ""
            j = k
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}'
            )
        stack.append(_OpenTag(name, attrs, pos, where))
        i = j

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_tag(tag: _OpenTag, pos: int, stack: list[_OpenTag], entities: list[dict]) -> None:
    length = pos - tag.start
    # <pre><code class="language-x">: the language belongs to the pre entity.
    if tag.name == "code" and stack and stack[-1].name == "pre" and stack[-1].start == tag.start:
        cls = tag.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].language = cls[len("language-") :]
            return
    if length == 0:
        return  # Telegram silently drops empty entities
    entity: dict[str, Any] = {"offset": tag.start, "length": length, "type": _TAG_ENTITY[tag.name]}
    if tag.name == "a":
        if not tag.attrs.get("href"):
            return  # <a> without href is plain text
        entity["url"] = tag.attrs["href"]
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def _strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram trims leading/trailing whitespace from message text; shift entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            kept.append({**e, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------
# What the bot did
# --------------------------------------------------------------------------------------


@dataclass
class Call:
    """One API call the bot made, with the response the fake gave."""

    method: str
    params: dict
    at: float
    response: dict

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass
class SentMessage:
    """A message the bot sent successfully; edits update it in place."""

    message_id: int
    chat_id: int
    text: str  # as the user sees it (HTML decoded, tags removed, trimmed)
    raw_text: str  # as sent
    parse_mode: str | None
    buttons: list[list[tuple[str, str]]]  # inline keyboard rows of (text, callback_data or url)
    at: float  # time.monotonic() when received
    # Not in the brief, but handy: the markup as sent (also reply keyboards), the
    # entities Telegram would attach, and whether the bot deleted the message later.
    reply_markup: dict | None = None
    entities: list[dict] = field(default_factory=list)
    deleted: bool = False
    photo: bytes = b""  # the uploaded image of a sendPhoto; its caption is `text`
    voice: str = ""  # the file id of a sendVoice; its caption is `text`
    voice_audio: bytes = b""  # the uploaded OGG/Opus of a sendVoice

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    def data_for(self, button_text_substring: str) -> str:
        for row in self.buttons:
            for text, data in row:
                if button_text_substring in text:
                    return data
        raise AssertionError(
            f"no button containing {button_text_substring!r} on message {self.message_id} "
            f"({self.text!r}); buttons: {self.buttons}"
        )


@dataclass
class _Stored:
    message: dict  # the Telegram Message object as it currently is
    from_bot: bool
    sent: SentMessage | None = None
    deleted: bool = False


class _Refusal(Exception):
    """Telegram would answer this call with an error."""

    def __init__(
        self, code: int, description: str, *, parameters: dict | None = None, expected: bool = False
    ):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.expected = expected  # provoked by the test (fail_next/block/rate limit)

    def envelope(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> _Refusal:
    return _Refusal(400, f"Bad Request: {description}")


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    remaining: int


# --------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def _decode_params(query: str, content_type: str, body: bytes) -> dict:
    """Parameters as PTB sends them: form-urlencoded or multipart (non-strings JSON-encoded
    as strings), or a JSON object; query-string parameters are accepted too."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json":
        data = json.loads(body.decode("utf-8") or "{}")
        if not isinstance(data, dict):
            raise ValueError("JSON body is not an object")
        raw.update(data)
    elif ctype == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                raw[name] = {"filename": part.get_filename(), "size": len(payload), "data": payload}
            else:
                raw[name] = payload.decode("utf-8")
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {name: _decode_value(name, value) for name, value in raw.items()}


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, or None when it is neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 <= len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                return int.from_bytes(data[i + 7 : i + 9], "big"), height
            i += 2 + length
    return None


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _chat_key(value: Any) -> int | str | None:
    """chat_id as the fake stores it: an int, or an '@username' string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return text or None
    return None


def _update_type(update: dict) -> str | None:
    return next((key for key in update if key != "update_id"), None)


def _over_limit(times: list[float], at: float, limit: float) -> float | None:
    """Whether a request arriving at `at` goes past `limit` a second, counted as the platform
    counts, in order of arrival: the accepted ones of the second before it, and for each
    accepted one that arrived after it (threads check requests out of their order of arrival)
    its own second, which this one would join. The arrival that starts the full second, if so.
    `times`: the arrivals of the accepted requests, sorted."""
    later = times[bisect.bisect_right(times, at) : bisect.bisect_left(times, at + 1.0)]
    for end in (at, *later):
        start = bisect.bisect_right(times, end - 1.0)
        if bisect.bisect_right(times, end) - start + 1 > limit:
            return times[start]
    return None


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.telegram.org
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls
    server: _Server

    def parse_request(self) -> bool:
        # The request line has just been read: this is when the request reached the platform,
        # as Telegram's clock would see it. Stamped before the headers, the body and the
        # server's own work (a thread waiting its turn for the interpreter can lag by tens of
        # milliseconds on a busy machine, which used to bunch requests that came evenly).
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        parts = urlsplit(self.path)
        body = self._read_body()
        status, payload = self.server.fake._dispatch(
            parts.path, parts.query, self.headers.get("Content-Type", ""), body, self.arrived
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output clean; `calls` is the log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeBotAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (a bot process killed on purpose) is no news;
        # anything else is printed as usual.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeBotAPI:
    """The fake Bot API server. See the module docstring."""

    # getUpdates long-polls at most this long, so tests and shutdown stay quick.
    LONG_POLL_CAP = 1.0

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "doithoai_test_bot"):
        self.token = token
        self.bot_username = bot_username
        self.bot_id = _as_int(token.split(":", 1)[0], 123456)
        self.url = ""

        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.updates: list[dict] = []  # every update ever pushed
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.rate_limited = 0

        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._pending: list[dict] = []
        self._next_update_id = 1
        self._allowed_updates: set[str] | None = None  # None: Telegram's default set
        self._users: dict[int, dict] = {}
        self._chats: dict[int | str, dict] = {}
        self._next_message_id: dict[int, int] = {}
        self._stored: dict[tuple[int, int], _Stored] = {}
        self._voices: dict[str, dict] = {}  # file id -> the Voice object of a pushed update
        self._sent: dict[int, list[SentMessage]] = {}
        self._callback_ids: list[str] = []
        self._answered: dict[str, dict] = {}
        self._callback_counter = 0
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        self._rate_per_second: float | None = None
        self._rate_per_chat: float | None = None
        self._send_times: list[float] = []  # arrivals of accepted sends, in order
        self._send_times_by_chat: dict[int, list[float]] = {}
        self._arrival = threading.local()  # .at: when the request this thread handles arrived
        self._fixtures: dict[str, dict] = {}

        self._handlers: dict[str, Callable[[dict], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda p: self._set_description(p, "description", 512),
            "setMyShortDescription": lambda p: self._set_description(p, "short_description", 120),
            "getMyDescription": lambda p: self._get_description(p, "description"),
            "getMyShortDescription": lambda p: self._get_description(p, "short_description"),
            "sendChatAction": self._send_chat_action,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendVoice": self._send_voice,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
        }
        # Telegram's method names are case-insensitive.
        self._canonical = {name.lower(): name for name in self._handlers}

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeBotAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotAPI",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()  # release long-polling getUpdates
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- feeding updates

    def push_update(self, update: dict) -> dict:
        """Queues an update for getUpdates (assigning update_id if missing) and returns it."""
        with self._cond:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._register(update)
            self._pending.append(update)
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def user(
        self,
        user_id: int,
        first_name: str = "Lan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "vi",
    ) -> dict:
        """A Telegram User object; remembered, so later builders for this id use it."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._cond:
            self._users[user_id] = user
        return dict(user)

    def send_text(self, user_id: int, text: str, *, push: bool = True) -> dict:
        """A private-chat text message; "/cmd args" gets the bot_command entity Telegram adds."""
        is_command = _COMMAND_RE.match(text) is not None
        update = self._private_message(
            user_id, "command_start.json" if is_command else "private_text.json"
        )
        message = update["message"]
        message["text"] = text
        self._set_command_entity(message)
        return self._maybe_push(update, push)

    def press(
        self, user_id: int, data: str, *, message_id: int | None = None, push: bool = True
    ) -> dict:
        """The user presses an inline button on a bot message (a callback_query update).

        Without message_id: the latest bot message in the chat with a button carrying this
        callback_data (AssertionError if there is none). With message_id: that bot message,
        whatever its buttons (to simulate pressing a stale keyboard).
        """
        chat_id = user_id
        with self._cond:
            stored = None
            if message_id is None:
                for sent in reversed(self._sent.get(chat_id, [])):
                    if not sent.deleted and any(d == data for row in sent.buttons for _, d in row):
                        stored = self._stored[(chat_id, sent.message_id)]
                        break
                if stored is None:
                    seen = [(m.message_id, m.buttons) for m in self._sent.get(chat_id, [])]
                    raise AssertionError(
                        f"no bot message in chat {chat_id} has a button with callback_data "
                        f"{data!r}; bot messages and their buttons: {seen}"
                    )
            else:
                stored = self._stored.get((chat_id, message_id))
                if stored is None or not stored.from_bot or stored.deleted:
                    raise AssertionError(f"the bot has no message {message_id} in chat {chat_id}")
            self._callback_counter += 1
            query_id = str(4_300_000_000_000_000_000 + self._callback_counter)
            message = copy.deepcopy(stored.message)
        update = self._template("callback_query.json")
        query = update["callback_query"]
        query["id"] = query_id
        query["from"] = self._user_for(user_id)
        query["message"] = message
        query["chat_instance"] = str(-(5_400_000_000_000_000_000 + abs(chat_id)))
        query["data"] = data
        return self._maybe_push(update, push)

    def send_sticker(self, user_id: int, *, push: bool = True) -> dict:
        return self._maybe_push(self._private_message(user_id, "sticker.json"), push)

    def send_photo(self, user_id: int, *, push: bool = True) -> dict:
        return self._maybe_push(self._private_message(user_id, "photo.json"), push)

    def send_voice(self, user_id: int, *, push: bool = True) -> dict:
        return self._maybe_push(self._private_message(user_id, "voice.json"), push)

    def send_contact(self, user_id: int, phone_number: str, *, push: bool = True) -> dict:
        """The user's own contact, as the request_contact keyboard button sends it."""
        update = self._private_message(user_id, "contact.json")
        user = update["message"]["from"]
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user["first_name"]}
        if "last_name" in user:
            contact["last_name"] = user["last_name"]
        contact["user_id"] = user_id
        update["message"]["contact"] = contact
        return self._maybe_push(update, push)

    def edit_text(self, user_id: int, message_id: int, text: str, *, push: bool = True) -> dict:
        """The user edits an earlier message of theirs (an edited_message update)."""
        update = self._template("edited_message.json")
        message = update["edited_message"]
        user = self._user_for(user_id)
        with self._cond:
            earlier = self._stored.get((user_id, message_id))
        message["message_id"] = message_id
        message["from"] = user
        message["chat"] = self._private_chat(user)
        now = int(time.time())
        message["date"] = earlier.message.get("date", now) if earlier else now - 60
        message["edit_date"] = now
        message["text"] = text
        message.pop("entities", None)
        self._set_command_entity(message)
        return self._maybe_push(update, push)

    def send_group_text(
        self, user_id: int, group_chat_id: int, text: str, *, push: bool = True
    ) -> dict:
        """A text message in a basic group (type "group", negative id)."""
        if group_chat_id >= 0:
            raise ValueError("group chat ids are negative")
        update = self._template("group_text.json")
        message = update["message"]
        message["from"] = self._user_for(user_id)
        message["chat"]["id"] = group_chat_id
        message["message_id"] = self._allocate_message_id(group_chat_id)
        message["date"] = int(time.time())
        message["text"] = text
        message.pop("entities", None)
        self._set_command_entity(message)
        return self._maybe_push(update, push)

    def add_private_chats(self, user_ids: Iterable[int]) -> None:
        """Makes these private chats known (as if each person had written to the bot once),
        without queueing any update: for broadcasts to thousands of people."""
        with self._cond:
            for user_id in user_ids:
                if user_id not in self._chats:
                    self._chats[user_id] = self._private_chat(self._user_for(user_id))

    # ---------------------------------------------------------------- what the bot did

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        with self._cond:
            return list(self._sent.get(chat_id, []))

    def all_messages(self) -> list[SentMessage]:
        """Every message the bot sent, in every chat, in the order they were received."""
        with self._cond:
            messages = [m for sent in self._sent.values() for m in sent]
        return sorted(messages, key=lambda m: m.at)

    def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._sent.get(chat_id, [])) >= count, timeout)
            messages = list(self._sent.get(chat_id, []))
            if not ok:
                raise AssertionError(
                    f"expected at least {count} message(s) to chat {chat_id} within {timeout}s, "
                    f"got {len(messages)}: {[m.text for m in messages]}; "
                    f"violations: {self.violations}"
                )
            return messages

    async def await_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        return await asyncio.to_thread(self.wait_for_messages, chat_id, count, timeout)

    def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        wanted = method.lower()

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method.lower() == wanted]

        with self._cond:
            ok = self._cond.wait_for(lambda: len(matching()) >= count, timeout)
            found = matching()
            if not ok:
                raise AssertionError(
                    f"expected at least {count} {method} call(s) within {timeout}s, got "
                    f"{len(found)}; methods called: {[c.method for c in self.calls]}"
                )
            return found

    async def await_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return await asyncio.to_thread(self.wait_for_call, method, count, timeout)

    def answered_callbacks(self) -> dict[str, dict]:
        with self._cond:
            return {qid: dict(params) for qid, params in self._answered.items()}

    def unanswered_callbacks(self) -> list[str]:
        with self._cond:
            return [qid for qid in self._callback_ids if qid not in self._answered]

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` (optionally only to chat_id) fail like this."""
        with self._cond:
            self._faults.append(
                _Fault(method.lower(), error_code, description, retry_after, chat_id, times)
            )

    def block(self, chat_id: int) -> None:
        """From now on, sending to this chat gives 403 "Forbidden: bot was blocked by the user"."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    def set_rate_limit(
        self, *, per_second: float | None = None, per_chat_per_second: float | None = None
    ) -> None:
        """Limits accepted sendMessage and sendPhoto calls per sliding second (None: no limit)."""
        with self._cond:
            self._rate_per_second = per_second
            self._rate_per_chat = per_chat_per_second

    # ---------------------------------------------------------------- update builders' helpers

    def _template(self, name: str) -> dict:
        if name not in self._fixtures:
            self._fixtures[name] = json.loads((FIXTURES_DIR / name).read_text("utf-8"))
        update = copy.deepcopy(self._fixtures[name])
        update.pop("update_id", None)  # push_update numbers updates from 1
        return update

    def _user_for(self, user_id: int) -> dict:
        with self._cond:
            if user_id not in self._users:
                self.user(user_id)
            return dict(self._users[user_id])

    @staticmethod
    def _private_chat(user: dict) -> dict:
        chat = {"id": user["id"], "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        chat["type"] = "private"
        return chat

    def _private_message(self, user_id: int, fixture: str) -> dict:
        update = self._template(fixture)
        message = update["message"]
        user = self._user_for(user_id)
        message["message_id"] = self._allocate_message_id(user_id)
        message["from"] = user
        message["chat"] = self._private_chat(user)
        message["date"] = int(time.time())
        return update

    @staticmethod
    def _set_command_entity(message: dict) -> None:
        match = _COMMAND_RE.match(message.get("text", ""))
        if match:
            message["entities"] = [
                {"offset": 0, "length": utf16_len(match.group(0)), "type": "bot_command"}
            ]
        else:
            message.pop("entities", None)

    def _maybe_push(self, update: dict, push: bool) -> dict:
        return self.push_update(update) if push else update

    def _allocate_message_id(self, chat_id: int) -> int:
        # Like Telegram, a private chat has one message_id sequence for both sides.
        with self._cond:
            message_id = self._next_message_id.get(chat_id, 1)
            self._next_message_id[chat_id] = message_id + 1
            return message_id

    def _register(self, update: dict) -> None:
        """Learns chats, users, user messages and callback query ids from a pushed update."""
        for key, obj in update.items():
            if not isinstance(obj, dict):
                continue
            user = obj.get("from")
            if (
                isinstance(user, dict)
                and not user.get("is_bot")
                and user.get("id") not in self._users
            ):
                self._users[user["id"]] = dict(user)
            for kind in ("voice", "audio"):
                if isinstance(obj.get(kind), dict) and obj[kind].get("file_id"):
                    self._voices[str(obj[kind]["file_id"])] = dict(obj[kind])
            if key == "callback_query":
                self._callback_ids.append(str(obj.get("id")))
                obj = obj.get("message") or {}
            chat = obj.get("chat")
            if not isinstance(chat, dict) or "id" not in chat:
                continue
            chat_id = chat["id"]
            self._chats[chat_id] = dict(chat)
            if chat.get("username") and chat.get("type") != "private":
                # "@username" addresses public groups and channels, never users.
                self._chats["@" + chat["username"]] = dict(chat)
            if key == "my_chat_member":
                # Telegram reports the user blocking/unblocking the bot this way.
                status = (obj.get("new_chat_member") or {}).get("status")
                if status == "kicked":
                    self._blocked.add(chat_id)
                elif status == "member":
                    self._blocked.discard(chat_id)
            if key in ("message", "edited_message") and "message_id" in obj:
                message_id = obj["message_id"]
                self._next_message_id[chat_id] = max(
                    self._next_message_id.get(chat_id, 1), message_id + 1
                )
                stored = self._stored.get((chat_id, message_id))
                if stored is None or not stored.from_bot:
                    self._stored[(chat_id, message_id)] = _Stored(copy.deepcopy(obj), False)

    # ---------------------------------------------------------------- dispatch

    def _dispatch(
        self, path: str, query: str, content_type: str, body: bytes, received: float
    ) -> tuple[int, dict]:
        self._arrival.at = received  # what the rate limits count (this thread's request)
        match = _PATH_RE.fullmatch(path)
        token = unquote(match.group(1)) if match else None
        raw_method = unquote(match.group(2)) if match else path
        method = self._canonical.get(raw_method.lower(), raw_method)
        params: dict = {}
        try:
            try:
                params = _decode_params(query, content_type, body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _bad(f"can't parse request: {exc}") from exc
            if match is None:
                raise _Refusal(404, "Not Found")
            if token != self.token:
                raise _Refusal(401, "Unauthorized")
            handler = self._handlers.get(method)
            if handler is None:
                raise _Refusal(404, "Not Found")
            self._apply_faults(method, params)
            status, response = 200, {"ok": True, "result": handler(params)}
        except _Refusal as refusal:
            status, response = refusal.code, refusal.envelope()
            if not refusal.expected:
                with self._cond:
                    self.violations.append(f"{method}: {refusal.description} (params: {params!r})")
        except Exception as exc:  # a bug in the fake: make it loud, not a hang
            status = 500
            response = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: fake crashed: {exc!r}",
            }
            with self._cond:
                self.violations.append(f"{method}: the fake crashed: {exc!r}")
        with self._cond:
            self.calls.append(Call(method, params, received, response))
            self._cond.notify_all()
        return status, response

    def _apply_faults(self, method: str, params: dict) -> None:
        with self._cond:
            for fault in self._faults:
                if fault.method != method.lower():
                    continue
                if fault.chat_id is not None and _chat_key(params.get("chat_id")) != fault.chat_id:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                if fault.error_code == 429:
                    self.rate_limited += 1
                raise _Refusal(
                    fault.error_code,
                    fault.description,
                    expected=True,
                    parameters={"retry_after": fault.retry_after}
                    if fault.retry_after is not None
                    else None,
                )

    # ---------------------------------------------------------------- checks shared by methods

    def _target_chat(self, params: dict, *, check_blocked: bool = True) -> int | str:
        """The chat a method addresses: must be given, not blocked and known to the fake."""
        chat_key = _chat_key(params.get("chat_id"))
        if chat_key is None:
            raise _bad("chat_id is empty")
        if check_blocked and chat_key in self._blocked:
            raise _Refusal(403, "Forbidden: bot was blocked by the user", expected=True)
        if chat_key not in self._chats:
            raise _bad("chat not found")
        return self._chats[chat_key]["id"]

    def _check_rate_limit(self, chat_id: int) -> None:
        now = self._arrived()
        windows = []
        if self._rate_per_second is not None:
            windows.append((self._send_times, self._rate_per_second))
        if self._rate_per_chat is not None:
            windows.append((self._send_times_by_chat.setdefault(chat_id, []), self._rate_per_chat))
        for times, limit in windows:
            first = _over_limit(times, now, limit)
            if first is not None:
                retry_after = max(1, math.ceil(first + 1.0 - now))
                self.rate_limited += 1
                raise _Refusal(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    parameters={"retry_after": retry_after},
                    expected=True,
                )

    def _arrived(self) -> float:
        """When the request this thread is handling arrived (now, outside a request)."""
        return getattr(self._arrival, "at", None) or time.monotonic()

    def _record_send(self, chat_id: int) -> None:
        now = self._arrived()
        for times in (self._send_times, self._send_times_by_chat.setdefault(chat_id, [])):
            bisect.insort(times, now)
            if now - times[0] >= 3.0:  # too old to matter to any request still being handled
                del times[: bisect.bisect_left(times, now - 2.0)]

    @staticmethod
    def _render_text(params: dict, too_long: str) -> tuple[str, list[dict], str, str | None]:
        """(visible text, entities, raw text, parse_mode) or the refusal Telegram gives."""
        raw = params.get("text")
        if raw is None or raw == "":
            raise _bad("message text is empty")
        raw = str(raw)
        parse_mode = params.get("parse_mode") or None
        text, entities = raw, []
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    text, entities = parse_html(raw)
                except HtmlParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from exc
            elif mode not in ("markdown", "markdownv2"):
                raise _bad("unsupported parse_mode")
            # Markdown modes are not parsed: the visible text is the raw text.
        text, entities = _strip_text(text, entities)
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_MESSAGE_UTF16:
            raise _bad(too_long)
        return text, entities, raw, parse_mode

    @staticmethod
    def _check_markup(markup: Any) -> tuple[dict | None, list[list[tuple[str, str]]]]:
        """Validates reply_markup; returns it and the inline buttons as (text, data/url)."""
        if markup is None:
            return None, []
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return markup, FakeBotAPI._check_inline_keyboard(markup["inline_keyboard"])
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    text = (
                        button
                        if isinstance(button, str)
                        else (button.get("text") if isinstance(button, dict) else None)
                    )
                    if not isinstance(text, str):
                        raise _bad("can't parse keyboard button: Can't find field \"text\"")
            return markup, []
        if "remove_keyboard" in markup or "force_reply" in markup:
            return markup, []
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> list[list[tuple[str, str]]]:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        if sum(len(r) for r in rows) > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        buttons = []
        for row in rows:
            parsed_row = []
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton should "
                        "be an Object"
                    )
                if "text" not in button:
                    raise _bad("can't parse inline keyboard button: Can't find field \"text\"")
                text = button["text"]
                if not isinstance(text, str) or not text.strip():
                    raise _bad("BUTTON_TEXT_INVALID")
                actions = [a for a in _INLINE_BUTTON_ACTIONS if button.get(a) is not None]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                if len(actions) > 1:
                    raise _bad(
                        "can't parse inline keyboard button: exactly one of the optional "
                        f"fields must be used, got {actions}"
                    )
                action = actions[0]
                value = button[action]
                if action == "callback_data":
                    if not isinstance(value, str) or not (
                        1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                elif action == "url":
                    if not isinstance(value, str) or not re.match(r"(https?|tg)://\S+", value):
                        raise _bad("BUTTON_URL_INVALID")
                parsed_row.append((text, value if isinstance(value, str) else json.dumps(value)))
            buttons.append(parsed_row)
        return buttons

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Đối Thoại",
            "username": self.bot_username,
        }

    def _editable(self, params: dict, not_found: str) -> tuple[int, _Stored]:
        if params.get("inline_message_id") is not None:
            raise _bad("MESSAGE_ID_INVALID")  # the fake has no inline messages
        chat_id = self._target_chat(params)
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = self._stored.get((chat_id, message_id))
        if stored is None or stored.deleted:
            raise _bad(not_found)
        return chat_id, stored

    # ---------------------------------------------------------------- methods

    def _get_me(self, params: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates") is True:
            with self._cond:
                self._pending.clear()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        with self._cond:
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }

    def _get_updates(self, params: dict) -> list[dict]:
        offset = _as_int(params.get("offset"))
        limit = min(max(_as_int(params.get("limit"), 100) or 100, 1), 100)
        try:
            timeout = float(params.get("timeout") or 0)
        except (TypeError, ValueError):
            timeout = 0.0
        timeout = min(max(timeout, 0.0), self.LONG_POLL_CAP)
        allowed = params.get("allowed_updates")
        with self._cond:
            if isinstance(allowed, list):
                # Telegram remembers the last allowed_updates; [] means the default set.
                self._allowed_updates = set(allowed) or None
            if offset is not None:
                # An offset confirms every earlier update: Telegram forgets them.
                if offset < 0:
                    self._pending = self._pending[offset:]
                else:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]

            def deliverable() -> list[dict]:
                return [u for u in self._pending if self._is_allowed(_update_type(u))]

            self._cond.wait_for(lambda: self._stopping or bool(deliverable()), timeout)
            return copy.deepcopy(deliverable()[:limit])

    def _is_allowed(self, update_type: str | None) -> bool:
        if self._allowed_updates is None:
            return update_type not in _NOT_DELIVERED_BY_DEFAULT
        return update_type in self._allowed_updates

    def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if commands is None:
            commands = []  # Telegram treats a missing list as an empty one
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand: BotCommand should be an Object")
            for key in ("command", "description"):
                if key not in command:
                    raise _bad(f"can't parse BotCommand: Can't find field \"{key}\"")
            name, description = command["command"], command["description"]
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not description.strip():
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        with self._cond:
            key = self._commands_key(params)
            if cleaned:
                self.commands[key] = cleaned
            else:
                self.commands.pop(key, None)  # an empty list deletes the commands
        return True

    @staticmethod
    def _commands_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope")
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
        return scope_type, params.get("language_code") or ""

    def _get_my_commands(self, params: dict) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: dict) -> bool:
        with self._cond:
            self.commands.pop(self._commands_key(params), None)
        return True

    def _set_description(self, params: dict, kind: str, limit: int) -> bool:
        text = params.get(kind) or ""
        if len(str(text)) > limit:
            raise _bad(f"{kind.replace('_', ' ')} is too long")
        with self._cond:
            self.descriptions[(kind, params.get("language_code") or "")] = str(text)
        return True

    def _get_description(self, params: dict, kind: str) -> dict:
        with self._cond:
            return {kind: self.descriptions.get((kind, params.get("language_code") or ""), "")}

    def _send_chat_action(self, params: dict) -> bool:
        with self._cond:
            self._target_chat(params)
            if params.get("action") not in _CHAT_ACTIONS:
                raise _bad("wrong parameter action in request")
        return True

    def _send_message(self, params: dict) -> dict:
        with self._cond:
            chat_key = _chat_key(params.get("chat_id"))
            if chat_key in self._blocked:
                raise _Refusal(403, "Forbidden: bot was blocked by the user", expected=True)
            if isinstance(chat_key, int):
                self._check_rate_limit(chat_key)
            chat_id = self._target_chat(params)
            text, entities, raw, parse_mode = self._render_text(params, "message is too long")
            markup, buttons = self._check_markup(params.get("reply_markup"))
            self._check_reply_target(chat_id, params)

            message_id = self._allocate_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": dict(self._chats[chat_id]),
                "date": int(time.time()),
                "text": text,
            }
            if entities:
                message["entities"] = entities
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Telegram only echoes inline keyboards
            sent = SentMessage(
                message_id,
                chat_id,
                text,
                raw,
                parse_mode,
                buttons,
                self._arrived(),
                reply_markup=markup,
                entities=entities,
            )
            self._stored[(chat_id, message_id)] = _Stored(message, True, sent)
            self._sent.setdefault(chat_id, []).append(sent)
            self._record_send(chat_id)
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _send_photo(self, params: dict) -> dict:
        with self._cond:
            chat_key = _chat_key(params.get("chat_id"))
            if chat_key in self._blocked:
                raise _Refusal(403, "Forbidden: bot was blocked by the user", expected=True)
            if isinstance(chat_key, int):
                self._check_rate_limit(chat_key)
            chat_id = self._target_chat(params)
            photo = params.get("photo")
            if photo is None or photo == "":
                raise _bad("there is no photo in the request")
            if not isinstance(photo, dict):  # a file_id or a URL: the fake keeps no files
                raise _bad("wrong file identifier/HTTP URL specified")
            data: bytes = photo["data"]
            if len(data) > MAX_PHOTO_BYTES:
                raise _Refusal(413, "Request Entity Too Large")
            size = _image_size(data)
            if size is None or 0 in size:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > MAX_PHOTO_SIDES or max(size) / min(size) > MAX_PHOTO_RATIO:
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            caption, entities, raw, parse_mode = self._render_caption(params)
            markup, buttons = self._check_markup(params.get("reply_markup"))
            self._check_reply_target(chat_id, params)

            message_id = self._allocate_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": dict(self._chats[chat_id]),
                "date": int(time.time()),
                "photo": self._photo_sizes(chat_id, message_id, width, height, len(data)),
            }
            if caption:
                message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            sent = SentMessage(
                message_id,
                chat_id,
                caption,
                raw,
                parse_mode,
                buttons,
                self._arrived(),
                reply_markup=markup,
                entities=entities,
                photo=data,
            )
            self._stored[(chat_id, message_id)] = _Stored(message, True, sent)
            self._sent.setdefault(chat_id, []).append(sent)
            self._record_send(chat_id)
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _send_voice(self, params: dict) -> dict:
        """sendVoice by file id (the only way the bot sends one): the file must be one a user
        sent, as Telegram refuses a file id it does not keep."""
        with self._cond:
            chat_key = _chat_key(params.get("chat_id"))
            if chat_key in self._blocked:
                raise _Refusal(403, "Forbidden: bot was blocked by the user", expected=True)
            if isinstance(chat_key, int):
                self._check_rate_limit(chat_key)
            chat_id = self._target_chat(params)
            voice = params.get("voice")
            if voice is None or voice == "":
                raise _bad("there is no voice in the request")
            audio = b""
            if isinstance(voice, dict):  # an upload (multipart): an OGG/Opus voice note
                audio = voice["data"]
                if not audio.startswith(b"OggS"):
                    raise _bad("VOICE_MESSAGES_FORBIDDEN" if not audio else "wrong type of file")
                voice = f"AwACAgfakevoice{len(self._voices)}"
                self._voices[voice] = {"duration": 1, "file_size": len(audio)}
            elif not isinstance(voice, str) or voice not in self._voices:
                raise _bad("wrong file identifier/HTTP URL specified")
            caption, entities, raw, parse_mode = self._render_caption(params)
            markup, buttons = self._check_markup(params.get("reply_markup"))
            self._check_reply_target(chat_id, params)
            message_id = self._allocate_message_id(chat_id)
            known = self._voices[voice]
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": dict(self._chats[chat_id]),
                "date": int(time.time()),
                "voice": {
                    "duration": known.get("duration", 0),
                    "mime_type": known.get("mime_type", "audio/ogg"),
                    "file_id": voice,
                    "file_unique_id": known.get("file_unique_id", voice[-15:]),
                    "file_size": known.get("file_size", 0),
                },
            }
            if caption:
                message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            sent = SentMessage(
                message_id,
                chat_id,
                caption,
                raw,
                parse_mode,
                buttons,
                self._arrived(),
                reply_markup=markup,
                entities=entities,
                voice=voice,
                voice_audio=audio,
            )
            self._stored[(chat_id, message_id)] = _Stored(message, True, sent)
            self._sent.setdefault(chat_id, []).append(sent)
            self._record_send(chat_id)
            self._cond.notify_all()
            return copy.deepcopy(message)

    @staticmethod
    def _photo_sizes(
        chat_id: int, message_id: int, width: int, height: int, file_size: int
    ) -> list[dict]:
        """The sizes Telegram makes of an uploaded photo, smallest first."""
        sizes = []
        longest = max(width, height)
        for n, side in enumerate(PHOTO_SIZES):
            scale = min(1.0, side / longest)
            sizes.append(
                {
                    "file_id": f"AgACAgfake{chat_id}x{message_id}x{n}",
                    "file_unique_id": f"AQADfake{chat_id}x{message_id}x{n}",
                    "file_size": max(1, int(file_size * scale * scale)),
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                }
            )
            if scale == 1.0:
                break
        return sizes

    @staticmethod
    def _render_caption(params: dict) -> tuple[str, list[dict], str, str | None]:
        """(visible caption, entities, raw caption, parse_mode); a caption may be absent."""
        raw = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        if raw is None or raw == "":
            return "", [], "", parse_mode
        raw = str(raw)
        text, entities = raw, []
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    text, entities = parse_html(raw)
                except HtmlParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from exc
            elif mode not in ("markdown", "markdownv2"):
                raise _bad("unsupported parse_mode")
        text, entities = _strip_text(text, entities)
        if utf16_len(text) > MAX_CAPTION_UTF16:
            raise _bad("message caption is too long")
        return text, entities, raw, parse_mode

    def _check_reply_target(self, chat_id: int, params: dict) -> None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target = _as_int(reply.get("message_id"))
            lenient = reply.get("allow_sending_without_reply") is True
        else:
            target = _as_int(params.get("reply_to_message_id"))
            lenient = params.get("allow_sending_without_reply") is True
        if target is None or lenient:
            return
        stored = self._stored.get((chat_id, target))
        if stored is None or stored.deleted:
            raise _bad("message to be replied not found")

    def _edit_message_text(self, params: dict) -> dict:
        with self._cond:
            _, stored = self._editable(params, "message to edit not found")
            if not stored.from_bot:
                raise _bad("message can't be edited")
            text, entities, raw, parse_mode = self._render_text(params, "MESSAGE_TOO_LONG")
            markup, buttons = self._check_markup(params.get("reply_markup"))
            inline = markup if markup is not None and "inline_keyboard" in markup else None
            message = stored.message
            # Telegram compares what the user would see: text, formatting and keyboard.
            if (
                message.get("text") == text
                and message.get("entities", []) == entities
                and message.get("reply_markup") == inline
            ):
                raise _bad(NOT_MODIFIED)
            message["text"] = text
            self._set_or_pop(message, "entities", entities or None)
            self._set_or_pop(message, "reply_markup", inline)  # no markup: keyboard removed
            message["edit_date"] = int(time.time())
            sent = stored.sent
            sent.text, sent.raw_text, sent.parse_mode = text, raw, parse_mode
            sent.entities, sent.buttons, sent.reply_markup = entities, buttons, inline
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: dict) -> dict:
        with self._cond:
            _, stored = self._editable(params, "message to edit not found")
            if not stored.from_bot:
                raise _bad("message can't be edited")
            markup, buttons = self._check_markup(params.get("reply_markup"))
            inline = markup if markup is not None and "inline_keyboard" in markup else None
            message = stored.message
            if message.get("reply_markup") == inline:
                raise _bad(NOT_MODIFIED)
            self._set_or_pop(message, "reply_markup", inline)
            message["edit_date"] = int(time.time())
            stored.sent.buttons, stored.sent.reply_markup = buttons, inline
            self._cond.notify_all()
            return copy.deepcopy(message)

    @staticmethod
    def _set_or_pop(message: dict, key: str, value: Any) -> None:
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value

    def _delete_message(self, params: dict) -> bool:
        with self._cond:
            _, stored = self._editable(params, "message to delete not found")
            stored.deleted = True
            if stored.sent is not None:
                stored.sent.deleted = True
            self._cond.notify_all()
        return True

    def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._callback_ids or query_id in self._answered:
                raise _bad(QUERY_INVALID)
            text = params.get("text")
            if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_CHARS:
                raise _bad("MESSAGE_TOO_LONG")
            self._answered[query_id] = dict(params)
        return True
