"""An HTTP fake of Zalo's Official Account API and OAuth server, on 127.0.0.1, for the tests.

One server answers both hosts (set zalo_api_url and zalo_oauth_url to ``fake.url``):

* ``POST /v3.0/oa/message/cs`` (header ``access_token``): enforces what Zalo enforces and
  answers with Zalo's error codes: an unknown or expired access token (-216), a recipient
  unknown or not following (-213) or blocked (-227), a person who has not written within the
  interaction window (-230), the rate limit (-32), and an invalid message (-201: empty or
  over-long text, markup, too many or malformed buttons, an unknown attachment);
* ``POST /v4/oa/access_token`` (header ``secret_key``, form app_id, grant_type=refresh_token,
  refresh_token): single-use rotating refresh tokens (a spent one is refused), expiry times,
  and a count of refreshes;
* ``POST /v2.0/oa/upload/image`` (multipart ``file``): keeps the image, gives an attachment_id;
* ``GET /v3.0/oa/user/detail?data={"user_id": …}`` (header ``access_token``): a follower's
  profile (``display_name``, avatars, ``user_is_follower``, …); -213 for someone not following.

It posts signed webhook events to a URL the test gives (``webhook_url``), exactly as Zalo
does (user_send_text, a pressed ``oa.query.show`` button, follow, unfollow, user_submit_info,
user_send_image, user_send_sticker), each with a real-looking msg_id and timestamp, and can
replay one. It records what the OA sent to each person (``messages_to``) and every refusal the
service provoked (``violations``); failures injected on purpose (``fail_next``,
``set_rate_limit``, ``block``, ``expire_access_tokens``) are not violations.

The shapes follow developers.zalo.me (Official Account API v3, Webhook, OAuth v4); see
bot/channels/zalo.py's docstring. Times come from ``clock`` (the tests' Clock) so that moving
the clock expires tokens and closes interaction windows. Standard library plus httpx (to post
webhooks from async tests without blocking the event loop the service runs in).

Typical use::

    fake = FakeZaloAPI(clock=clock).start()
    settings = make_settings(url, **fake.settings())
    fake.webhook_url = f"{app_url}/zalo"
    await fake.send_text("8401", "Xin chào")
    [reply] = await fake.await_messages("8401", 1)
    fake.stop()
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

__all__ = ["FakeZaloAPI", "Posted", "SentMessage", "FIXTURES_DIR"]

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "zalo"

TEXT_LIMIT = 2000
MAX_BUTTONS = 5
BUTTON_TITLE_LIMIT = 100
BUTTON_PAYLOAD_LIMIT = 1000
IMAGE_LIMIT = 1024 * 1024
BUTTON_TYPES = {"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.sms", "oa.open.phone"}
ACCESS_LIFETIME = 90000  # seconds, as Zalo's v4 token endpoint says ("expires_in": "90000")

ERRORS = {
    -32: "Out of rate limit",
    -201: "Parameters are invalid",
    -213: "User has not followed the OA",
    -216: "Access token is invalid",
    -220: "Access token has expired",
    -227: "User is banned or has been inactive for too long",
    -230: "User has not interacted with the OA in the past 7 days",
    -232: "User has not interacted with the OA's messages",
}
SPENT_REFRESH = {
    "error": -14014,
    "error_name": "Invalid refresh token",
    "error_reason": "The refresh token is invalid or has been used",
    "error_description": "Refresh token is invalid",
}
_MARKUP = re.compile(r"</?(b|i|u|s|a|code|pre|strong|em)\b[^>]*>", re.IGNORECASE)


@dataclass
class SentMessage:
    """One message the OA sent, as the person sees it."""

    user_id: str
    text: str = ""
    buttons: list[dict[str, Any]] = field(default_factory=list)  # {"title", "type", "payload"}
    template_type: str = ""  # "" (text or buttons), "request_user_info", "media"
    attachment_id: str = ""
    image: bytes = b""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [str(b.get("title", "")) for b in self.buttons]


@dataclass
class Posted:
    """A webhook event the fake posted: its exact bytes (for a replay) and the answer."""

    event: dict[str, Any]
    raw: bytes
    signature: str
    status: int
    text: str


@dataclass
class _User:
    following: bool = True
    blocked: bool = False
    last_interaction: datetime | None = None
    display_name: str = ""
    gender: int = 1  # Zalo's user_gender: 1 male, 2 female


@dataclass
class _Fault:
    path: str
    code: int
    user_id: str | None
    times: int
    after: int = 0  # matching requests let through first


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path.rstrip("/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        handler = {
            "/v3.0/oa/message/cs": fake._message_cs,
            "/v4/oa/access_token": fake._access_token,
            "/v2.0/oa/upload/image": fake._upload_image,
        }.get(path)
        if handler is None:
            self._answer(404, {"error": 404, "message": "not found"})
            return
        answer = handler(headers, body)
        if answer is None:  # asked to vanish without answering (a lost response)
            self.close_connection = True
            return
        self._answer(200, answer)

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server.fake
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if parts.path.rstrip("/") != "/v3.0/oa/user/detail":
            self._answer(404, {"error": 404, "message": "not found"})
            return
        self._answer(200, fake._user_detail(headers, dict(parse_qsl(parts.query))))

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeZaloAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeZaloAPI:
    """The fake Zalo server. See the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        app_id: str = "2553928453557884079",
        app_secret: str = "fake-app-secret-key",
        oa_secret_key: str = "fake-oa-secret-key",
        oa_id: str = "3662729599332560487",
        window: timedelta = timedelta(days=7),
        access_lifetime: int = ACCESS_LIFETIME,
    ):
        self.clock = clock or (lambda: datetime.now(UTC))
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.window = window
        self.access_lifetime = access_lifetime
        self.url = ""
        self.webhook_url = ""

        self.violations: list[str] = []
        self.refresh_requests = 0  # every request to the token endpoint
        self.refreshes = 0  # refresh requests Zalo answered with new tokens
        self.token_refusals = 0  # messages refused for their access token (-216)
        self.refusals = 0  # refresh requests refused (a spent or unknown refresh token)
        self.posted: list[Posted] = []
        self.rate_limited = 0
        self.profile_requests = 0  # GET /v3.0/oa/user/detail
        self.images: dict[str, bytes] = {}
        # Set to make the token endpoint rotate the tokens and then never answer: what a
        # service sees when it dies (or its connection drops) after Zalo's answer.
        self.lose_refresh_answers = False
        # Set (and cleared by the test) to hold refresh answers, to make refreshes overlap.
        self.refresh_gate = threading.Event()
        self.refresh_gate.set()

        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self._access: dict[str, datetime] = {}  # token -> expires at
        self._refresh: dict[str, bool] = {}  # token -> still unused
        self._users: dict[str, _User] = {}
        self._sent: dict[str, list[SentMessage]] = {}
        self._faults: list[_Fault] = []
        self._rate: float | None = None
        self._send_times: deque[float] = deque()
        self.access_token, self.refresh_token = self.issue_tokens()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeZaloAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeZaloAPI",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.refresh_gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeZaloAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self) -> dict[str, str]:
        """The DOITHOAI_ZALO_* settings (as make_settings overrides) that point at this fake,
        with the first tokens it issued."""
        return {
            "zalo_app_id": self.app_id,
            "zalo_app_secret": self.app_secret,
            "zalo_oa_secret_key": self.oa_secret_key,
            "zalo_access_token": self.access_token,
            "zalo_refresh_token": self.refresh_token,
            "zalo_api_url": self.url,
            "zalo_oauth_url": self.url,
        }

    # ---------------------------------------------------------------- tokens

    def issue_tokens(self) -> tuple[str, str]:
        """A new valid pair, as if an operator had authorised the app again."""
        with self._cond:
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self._access[access] = self.clock() + timedelta(seconds=self.access_lifetime)
            self._refresh[refresh] = True
            return access, refresh

    def expire_access_tokens(self) -> None:
        """Every access token given so far stops working (-216), as after a revocation."""
        with self._cond:
            self._access.clear()

    def refresh_token_spent(self, token: str) -> bool:
        with self._cond:
            return self._refresh.get(token) is False

    def _access_token(self, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        with self._cond:
            self.refresh_requests += 1
            self._cond.notify_all()
        if headers.get("secret_key") != self.app_secret:
            return self._refuse_refresh(-14002, "Invalid secret key", "wrong secret_key header")
        if form.get("app_id") != self.app_id:
            return self._refuse_refresh(-14001, "Invalid app id", "wrong app_id")
        if form.get("grant_type") != "refresh_token":
            return self._refuse_refresh(-14003, "Invalid grant type", "grant_type")
        self.refresh_gate.wait(timeout=30)
        with self._cond:
            token = form.get("refresh_token", "")
            if not self._refresh.get(token):
                self.refusals += 1
                self._cond.notify_all()
                return dict(SPENT_REFRESH)
            self._refresh[token] = False  # single use
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self._access[access] = self.clock() + timedelta(seconds=self.access_lifetime)
            self._refresh[refresh] = True
            self.access_token, self.refresh_token = access, refresh
            self.refreshes += 1
            self._cond.notify_all()
            lose = self.lose_refresh_answers
        if lose:
            self._release.wait(timeout=30)
            return None
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(self.access_lifetime),
        }

    def _refuse_refresh(self, code: int, name: str, reason: str) -> dict[str, Any]:
        with self._cond:
            self.violations.append(f"access_token: {reason}")
            self.refusals += 1
            self._cond.notify_all()
        return {"error": code, "error_name": name, "error_description": reason}

    def _token_error(self, headers: dict[str, str]) -> int:
        token = headers.get("access_token", "")
        expires = self._access.get(token)
        if expires is None:
            return -216
        if expires <= self.clock():
            return -216  # Zalo answers an expired token as invalid too
        return 0

    # ---------------------------------------------------------------- people

    def follow_user(self, user_id: str, *, interacted: bool = True) -> None:
        """A person follows the OA (without posting an event)."""
        with self._cond:
            user = self._users.setdefault(user_id, _User())
            user.following, user.blocked = True, False
            if interacted:
                user.last_interaction = self.clock()

    def set_profile(self, user_id: str, *, display_name: str, gender: int = 1) -> None:
        """The name (and gender) a person's Zalo profile shows the OA."""
        with self._cond:
            user = self._users.setdefault(user_id, _User())
            user.display_name, user.gender = display_name, gender

    def _user_detail(self, headers: dict[str, str], query: dict[str, str]) -> dict[str, Any]:
        """GET /v3.0/oa/user/detail?data={"user_id": "..."}: a follower's profile, in the
        shape Zalo answers (display_name, avatars, follower flag, shared info, tags)."""
        with self._cond:
            self.profile_requests += 1
            try:
                user_id = str(json.loads(query.get("data", ""))["user_id"])
            except (ValueError, KeyError, TypeError):
                self.violations.append("user/detail: data is not JSON with user_id")
                return self._error(-201)
            code = self._token_error(headers) or self._fault("/v3.0/oa/user/detail", user_id)
            if code:
                return self._error(code)
            user = self._users.get(user_id)
            if user is None or not user.following:
                return self._error(-213)
            avatar = f"https://s120-ava-talk.zadn.vn/fake/{user_id}.jpg"
            return {
                "data": {
                    "user_id": user_id,
                    "user_id_by_app": str(int(user_id) % 10**16) if user_id.isdigit() else "",
                    "user_external_id": "",
                    "display_name": user.display_name or f"Zalo {user_id[-4:]}",
                    "user_alias": "",
                    "is_sensitive": False,
                    "user_last_interaction_date": (
                        user.last_interaction.strftime("%d/%m/%Y") if user.last_interaction else ""
                    ),
                    "user_is_follower": user.following,
                    "user_gender": user.gender,
                    "avatar": avatar,
                    "avatars": {"120": avatar, "240": avatar.replace(".jpg", "_240.jpg")},
                    "tags_and_notes_info": {"notes": [], "tag_names": []},
                    "shared_info": {},
                },
                "error": 0,
                "message": "Success",
            }

    def block(self, user_id: str) -> None:
        with self._cond:
            self._users.setdefault(user_id, _User()).blocked = True

    def set_last_interaction(self, user_id: str, at: datetime) -> None:
        with self._cond:
            self._users.setdefault(user_id, _User()).last_interaction = at

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        path: str = "/v3.0/oa/message/cs",
        *,
        code: int,
        user_id: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """The next `times` requests to `path` (to `user_id` if given), once `after` more have
        gone through, get error `code`."""
        with self._cond:
            self._faults.append(_Fault(path, code, user_id, times, after))

    def set_rate_limit(self, per_second: float | None) -> None:
        """At most this many messages a second, all people together (-32 beyond)."""
        with self._cond:
            self._rate = per_second
            self._send_times.clear()

    def _fault(self, path: str, user_id: str | None) -> int:
        for fault in self._faults:
            if fault.path == path and fault.times > 0 and fault.user_id in (None, user_id):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                return fault.code
        return 0

    # ---------------------------------------------------------------- sending

    @staticmethod
    def _error(code: int) -> dict[str, Any]:
        return {"error": code, "message": ERRORS.get(code, "Unknown error")}

    def _invalid(self, reason: str) -> dict[str, Any]:
        self.violations.append(f"message/cs: {reason}")
        return self._error(-201)

    def _message_cs(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        with self._cond:
            try:
                payload = json.loads(body)
                user_id = str(payload["recipient"]["user_id"])
                message = payload["message"]
                assert isinstance(message, dict)
            except (ValueError, KeyError, TypeError, AssertionError):
                return self._invalid("not a JSON body with recipient.user_id and message")
            code = self._token_error(headers)
            if code:
                self.token_refusals += 1
                return self._error(code)
            code = self._fault("/v3.0/oa/message/cs", user_id)
            if code:
                return self._error(code)
            if self._rate is not None:
                now = time.monotonic()
                while self._send_times and now - self._send_times[0] >= 1.0:
                    self._send_times.popleft()
                if len(self._send_times) >= self._rate:
                    self.rate_limited += 1
                    return self._error(-32)
                self._send_times.append(now)
            user = self._users.get(user_id)
            if user is None or not user.following:
                return self._error(-213)
            if user.blocked:
                return self._error(-227)
            last = user.last_interaction
            if last is None or self.clock() - last > self.window:
                return self._error(-230)
            sent = self._check(user_id, message)
            if isinstance(sent, dict):
                return sent
            self._sent.setdefault(user_id, []).append(sent)
            self._cond.notify_all()
            return {
                "error": 0,
                "message": "Success",
                "data": {"message_id": secrets.token_hex(16), "user_id": user_id},
            }

    def _check(self, user_id: str, message: dict[str, Any]) -> SentMessage | dict[str, Any]:
        text = message.get("text", "")
        if not isinstance(text, str):
            return self._invalid("text is not a string")
        if len(text) > TEXT_LIMIT:
            return self._invalid(f"text of {len(text)} characters (at most {TEXT_LIMIT})")
        if _MARKUP.search(text):
            self.violations.append("message/cs: markup in a text (Zalo shows it as typed)")
        attachment = message.get("attachment")
        sent = SentMessage(user_id=user_id, text=text, raw=message)
        if attachment is None:
            if not text.strip():
                return self._invalid("empty text")
            return sent
        if not isinstance(attachment, dict) or attachment.get("type") != "template":
            return self._invalid("attachment is not a template")
        payload = attachment.get("payload") or {}
        template_type = payload.get("template_type", "")
        sent.template_type = template_type
        if template_type == "request_user_info":
            elements = payload.get("elements") or []
            if len(elements) != 1:
                return self._invalid("request_user_info takes one element")
            element = elements[0]
            if not 0 < len(str(element.get("title", ""))) <= 100:
                return self._invalid("request_user_info title of 1 to 100 characters")
            if not 0 < len(str(element.get("subtitle", ""))) <= 500:
                return self._invalid("request_user_info subtitle of 1 to 500 characters")
            if not str(element.get("image_url", "")).startswith("http"):
                return self._invalid("request_user_info needs an image_url")
            return sent
        if template_type == "media":
            elements = payload.get("elements") or []
            if len(elements) != 1 or elements[0].get("media_type") != "image":
                return self._invalid("media template takes one image element")
            attachment_id = str(elements[0].get("attachment_id", ""))
            if attachment_id not in self.images:
                return self._invalid("unknown attachment_id")
            sent.attachment_id, sent.image = attachment_id, self.images[attachment_id]
            return sent
        buttons = payload.get("buttons")
        if template_type or not isinstance(buttons, list):
            return self._invalid(f"unknown template {template_type!r}")
        if not text.strip():
            return self._invalid("buttons need a text")
        if not 0 < len(buttons) <= MAX_BUTTONS:
            return self._invalid(f"{len(buttons)} buttons (1 to {MAX_BUTTONS})")
        for button in buttons:
            title, kind = str(button.get("title", "")), button.get("type")
            if kind not in BUTTON_TYPES:
                return self._invalid(f"button type {kind!r}")
            if not 0 < len(title) <= BUTTON_TITLE_LIMIT:
                return self._invalid(f"button title of {len(title)} characters")
            if kind.startswith("oa.query"):
                data = button.get("payload")
                if not isinstance(data, str) or not 0 < len(data) <= BUTTON_PAYLOAD_LIMIT:
                    return self._invalid("oa.query payload: a string of 1 to 1000 characters")
        sent.buttons = [dict(b) for b in buttons]
        return sent

    def _upload_image(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        with self._cond:
            code = self._token_error(headers)
            if code:
                return self._error(code)
            ctype = headers.get("content-type", "")
            if not ctype.lower().startswith("multipart/form-data"):
                return self._invalid("upload/image: not multipart")
            head = f"Content-Type: {ctype}\r\n\r\n".encode("latin-1")
            parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
            data = b""
            for part in parsed.iter_parts():
                if part.get_param("name", header="content-disposition") == "file":
                    data = part.get_payload(decode=True) or b""
            if not data:
                return self._invalid("upload/image: no file")
            if len(data) > IMAGE_LIMIT:
                return self._invalid("upload/image: over 1 MB")
            if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8")):
                return self._invalid("upload/image: not a jpg or png")
            attachment_id = secrets.token_urlsafe(24)
            self.images[attachment_id] = data
            return {"error": 0, "message": "Success", "data": {"attachment_id": attachment_id}}

    # ---------------------------------------------------------------- what was sent

    def messages_to(self, user_id: str) -> list[SentMessage]:
        with self._cond:
            return list(self._sent.get(user_id, []))

    def wait_for_messages(
        self, user_id: str, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._sent.get(user_id, [])) >= count, timeout)
            messages = list(self._sent.get(user_id, []))
        if not ok:
            raise AssertionError(
                f"expected {count} message(s) within {timeout}s, got {len(messages)}: "
                f"{[m.text for m in messages]}; violations: {self.violations}"
            )
        return messages

    async def await_messages(
        self, user_id: str, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        return await asyncio.to_thread(self.wait_for_messages, user_id, count, timeout)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(condition, timeout)

    async def await_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.wait_until, condition, timeout)

    def last_buttons(self, user_id: str) -> list[dict[str, Any]]:
        """The buttons of the last message to this person that had any."""
        for message in reversed(self.messages_to(user_id)):
            if message.buttons:
                return message.buttons
        return []

    # ---------------------------------------------------------------- webhook events

    def _timestamp(self) -> str:
        return str(int(self.clock().timestamp() * 1000))

    def sign(self, raw: bytes, timestamp: str, *, prefix: bool = True) -> str:
        mac = hashlib.sha256(
            self.app_id.encode() + raw + timestamp.encode() + self.oa_secret_key.encode()
        ).hexdigest()
        return f"mac={mac}" if prefix else mac

    def _base(self, name: str, user_id: str) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "user_id_by_app": str(abs(hash(("app", user_id))) % 10**19),
            "event_name": name,
            "timestamp": self._timestamp(),
        }

    def _message_event(self, name: str, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        event = self._base(name, user_id)
        event["sender"] = {"id": user_id}
        event["recipient"] = {"id": self.oa_id}
        event["message"] = {"msg_id": secrets.token_hex(10), **message}
        return event

    def text_event(self, user_id: str, text: str) -> dict[str, Any]:
        return self._message_event("user_send_text", user_id, {"text": text})

    def image_event(self, user_id: str, caption: str = "") -> dict[str, Any]:
        attachment = {
            "type": "image",
            "payload": {
                "thumbnail": "https://photo-stal-9.zdn.vn/thumb/fake.jpg",
                "url": "https://photo-stal-9.zdn.vn/fake.jpg",
            },
        }
        message: dict[str, Any] = {"attachments": [attachment]}
        if caption:
            message["text"] = caption
        return self._message_event("user_send_image", user_id, message)

    def audio_event(self, user_id: str) -> dict[str, Any]:
        """A voice message recorded in Zalo: its audio at Zalo's address."""
        attachment = {
            "type": "audio",
            "payload": {"url": f"https://voice-stal-1.zdn.vn/fake{user_id}.aac"},
        }
        return self._message_event("user_send_audio", user_id, {"attachments": [attachment]})

    def sticker_event(self, user_id: str) -> dict[str, Any]:
        attachment = {
            "type": "sticker",
            "payload": {"id": "bfe458bf64fa8da4d4eb", "url": "https://zalo-api.zadn.vn/sticker"},
        }
        return self._message_event("user_send_sticker", user_id, {"attachments": [attachment]})

    def follow_event(self, user_id: str, *, follow: bool = True) -> dict[str, Any]:
        event = self._base("follow" if follow else "unfollow", user_id)
        event["oa_id"] = self.oa_id
        event["follower"] = {"id": user_id}
        event["source"] = "oa_profile"
        return event

    def submit_info_event(self, user_id: str, phone: str, name: str = "") -> dict[str, Any]:
        event = self._base("user_submit_info", user_id)
        event["sender"] = {"id": user_id}
        event["recipient"] = {"id": self.oa_id}
        event["info"] = {
            "address": "",
            "phone": phone,
            "city": "",
            "district": "",
            "name": name,
            "ward": "",
        }
        return event

    async def post(
        self, event: dict[str, Any], *, signature: str | None = None, url: str | None = None
    ) -> Posted:
        """Post one event to the webhook, signed as Zalo signs it unless `signature` is given
        ("" sends no signature header)."""
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        if signature is None:
            signature = self.sign(raw, str(event.get("timestamp", "")))
        return await self._post_raw(event, raw, signature, url)

    async def replay(self, posted: Posted) -> Posted:
        """The same request again, byte for byte (Zalo retries when it got no 200 in time)."""
        return await self._post_raw(posted.event, posted.raw, posted.signature, None)

    async def _post_raw(
        self, event: dict[str, Any], raw: bytes, signature: str, url: str | None
    ) -> Posted:
        target = url or self.webhook_url
        if not target:
            raise AssertionError("set fake.webhook_url (or pass url=) before posting events")
        headers = {"Content-Type": "application/json", "User-Agent": "ZaloWebhook"}
        if signature:
            headers["X-ZEvent-Signature"] = signature
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(target, content=raw, headers=headers)
        posted = Posted(event, raw, signature, response.status_code, response.text)
        with self._cond:
            self.posted.append(posted)
        return posted

    def _interacted(self, user_id: str) -> None:
        with self._cond:
            user = self._users.setdefault(user_id, _User())
            user.last_interaction = self.clock()

    async def send_text(self, user_id: str, text: str) -> Posted:
        """The person types `text` (they become known and following, as writing to an OA
        in Zalo lets it answer them)."""
        self.follow_user(user_id)
        return await self.post(self.text_event(user_id, text))

    async def press(self, user_id: str, label: str) -> Posted:
        """The person presses the `oa.query.show` button whose title contains `label` on the
        last message with buttons: Zalo sends its payload back as the person's text."""
        buttons = self.last_buttons(user_id)
        matching = [b for b in buttons if label in str(b.get("title", ""))]
        if len(matching) != 1:
            raise AssertionError(
                f"{len(matching)} buttons match {label!r}: {[b.get('title') for b in buttons]}"
            )
        self._interacted(user_id)
        return await self.post(self.text_event(user_id, str(matching[0]["payload"])))

    async def follow(self, user_id: str) -> Posted:
        self.follow_user(user_id)
        return await self.post(self.follow_event(user_id))

    async def unfollow(self, user_id: str) -> Posted:
        with self._cond:
            self._users.setdefault(user_id, _User()).following = False
        return await self.post(self.follow_event(user_id, follow=False))

    async def submit_info(self, user_id: str, phone: str, name: str = "") -> Posted:
        """The person fills Zalo's request_user_info form (they must have been sent one)."""
        if not any(m.template_type == "request_user_info" for m in self.messages_to(user_id)):
            raise AssertionError("nobody asked this person for their information")
        self._interacted(user_id)
        return await self.post(self.submit_info_event(user_id, phone, name))

    async def send_image(self, user_id: str) -> Posted:
        self.follow_user(user_id)
        return await self.post(self.image_event(user_id))

    async def send_audio(self, user_id: str) -> Posted:
        self.follow_user(user_id)
        return await self.post(self.audio_event(user_id))

    async def send_sticker(self, user_id: str) -> Posted:
        self.follow_user(user_id)
        return await self.post(self.sticker_event(user_id))
