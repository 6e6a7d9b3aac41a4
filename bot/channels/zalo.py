"""Zalo Official Account, on httpx alone: webhook events in, customer-service messages out.

Everything Zalo-specific stays here: checking the webhook's signature, turning events into
Incoming, plain-text rendering (Zalo shows no markup), buttons as `oa.query.show` templates or
numbered options, the phone request template, image upload, Zalo's error codes as neutral
delivery outcomes, and the OA's access token, refreshed with its single-use refresh token.

Where the shapes come from (developers.zalo.me, "Official Account API" and "Webhook"):
- webhook: POST with header `X-ZEvent-Signature: mac=<hex>`, where the mac is
  sha256(app_id + raw body + timestamp + OA secret key) and the timestamp is the event's own
  "timestamp" field (milliseconds, a string); events carry "event_name", "app_id", "sender"
  {"id"} (or "follower" {"id"} for follow/unfollow), "recipient", "timestamp", and for messages
  "message" {"msg_id", "text", "attachments": [{"type", "payload"}]}; `user_submit_info` carries
  "info" {"name", "phone", "address", "city", "district", "ward"} and no msg_id;
- sending: POST {api}/v3.0/oa/message/cs, header `access_token`, JSON {"recipient":
  {"user_id"}, "message": {"text"} | {"text", "attachment": {"type": "template", "payload":
  {"buttons": [{"title", "type": "oa.query.show", "payload"}]}}} | {"attachment": template
  "request_user_info" | "media"}}; text at most 2000 characters, a button title at most 100,
  an `oa.query.show` payload at most 1000; the answer is {"error": 0, "message": "Success",
  "data": {"message_id", "user_id"}} or a negative error with its message;
- image upload: POST {api}/v2.0/oa/upload/image, multipart "file" (jpg/png, 1 MB), answer
  {"error": 0, "data": {"attachment_id"}};
- a follower's profile: GET {api}/v3.0/oa/user/detail?data={"user_id": "..."}, header
  `access_token`, answer {"error": 0, "message": "Success", "data": {"user_id",
  "display_name", "avatar", "user_is_follower", ...}} (the successor of v2.0 `getprofile`);
- tokens: POST {oauth}/v4/oa/access_token, header `secret_key` (the app's secret), form
  app_id, grant_type=refresh_token, refresh_token -> {"access_token", "refresh_token",
  "expires_in": "90000"} (seconds, a string); the refresh token is single-use and rotates.
  A refusal has "error" (negative) and "error_name"/"error_description".
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.core import buttons as btn
from bot.core import safe_json
from bot.core.config import Settings
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Delivery, Incoming, Kind, Reply, SendResult
from storage import tokens
from storage.accounts import fill_display_name, mark_unreachable
from storage.models import ShownChoices

log = logging.getLogger(__name__)

NAME = "zalo"
SIGNATURE_HEADER = "x-zevent-signature"
MAX_EVENT_BYTES = 1 << 20  # an event is a few kilobytes (bot.web refuses bigger bodies)
TEXT_LIMIT = 2000  # characters of a customer-service message's text
MAX_BUTTONS = 5  # buttons of one template message; more are listed as numbered options
BUTTON_TITLE_LIMIT = 100
BUTTON_PAYLOAD_LIMIT = 1000
IMAGE_LIMIT = 1024 * 1024  # upload/image takes jpg and png up to 1 MB
# The image Zalo's own documentation shows in its request_user_info example: the template
# needs one, and the service has no public image of its own.
REQUEST_INFO_IMAGE = "https://developers.zalo.me/web/static/zalo.png"

# Zalo's error codes (the "error" field of every answer) and what they mean for us.
TOKEN_ERRORS = {-216, -220}  # access token invalid / expired
WINDOW_ERRORS = {-230, -232}  # the person has not written to the OA within the window
UNREACHABLE_ERRORS = {-213, -227}  # not following the OA / blocked or gone
RATE_ERRORS = {-32}  # over the app's rate limit
PROFILE_CACHE = 10_000  # followers' names kept in memory per process
PROFILE_TIMEOUT = 5.0  # seconds to wait for a profile: the event goes on without the name


def _clean_name(raw: str) -> str:
    """A display name as stored: NFC, no control characters, spaces collapsed, bounded."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return " ".join(text.split())[:200]


RATE_BACKOFF = 60.0  # seconds: Zalo says nothing about when to try again
TOKEN_BACKOFF = 300.0  # no usable token: try again later rather than lose the message
REFRESH_MARGIN = timedelta(minutes=5)  # refresh this long before the access token expires
REFRESH_LEASE = timedelta(seconds=60)  # a refresh older than this died with its process
REFRESH_POLL = 0.2  # seconds between looks at another process's refresh
SEEDED_LIFETIME = timedelta(0)  # first tokens from the settings: refresh at first use

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

_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")
_CHOICES_AAD = b"doithoai shown choices v1"


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


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into parts of at most `limit` characters, at a paragraph, a line or a space
    where one is in the second half of the part."""
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 2:
                parts.append(window[:cut].rstrip())
                text = text[cut + len(separator) :]
                break
        else:
            parts.append(window)
            text = text[limit:]
    if text.strip() or not parts:
        parts.append(text)
    return parts


def plain(reply: Reply) -> str:
    """The reply as Zalo shows it: no markup, so the title is its own first line in capitals."""
    if reply.title and reply.text:
        return f"{reply.title.upper()}\n\n{reply.text}"
    return reply.title.upper() if reply.title else reply.text


def _buttons(reply: Reply) -> list[Button]:
    # Zalo takes no voice notes from the OA: "🔊 Nghe" (bot.speech) is not offered here.
    return [
        button
        for row in reply.buttons
        for button in row
        if btn.parse(button.data) is None or btn.parse(button.data).format is not btn.LISTEN
    ]


def _template_fits(buttons: list[Button]) -> bool:
    """Can these choices be real buttons? Few enough, labels Zalo takes, and each label unique
    (the label comes back as the pressed button's text)."""
    labels = [b.label.strip().casefold() for b in buttons]
    return (
        0 < len(buttons) <= MAX_BUTTONS
        and all(0 < len(b.label.strip()) <= BUTTON_TITLE_LIMIT for b in buttons)
        and all(len(b.label) <= BUTTON_PAYLOAD_LIMIT for b in buttons)
        and len(set(labels)) == len(labels)
    )


class TokensUnusable(Exception):
    """No access token can be had now; str() is one line for the log (no secret in it)."""


class _ChoiceSeal:
    """AES-GCM over the choices shown to one person, under a key derived from SECRET_KEY with
    its own purpose (the same HKDF as bot.core.anonymity's keys), bound to the person's id so that
    a sealed row cannot be moved to someone else."""

    def __init__(self, secret_key: str):
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"doithoai shown choices"
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, user_id: str, choices: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        plain_bytes = json.dumps(choices, ensure_ascii=False).encode()
        return nonce + self._aead.encrypt(nonce, plain_bytes, _CHOICES_AAD + user_id.encode())

    def open(self, user_id: str, sealed: bytes) -> dict[str, Any] | None:
        try:
            data = self._aead.decrypt(sealed[:12], sealed[12:], _CHOICES_AAD + user_id.encode())
            choices = json.loads(data)
        except (InvalidTag, ValueError):
            return None  # sealed under another SECRET_KEY: as if nothing had been shown
        return choices if isinstance(choices, dict) else None


async def _save_choices(
    session: AsyncSession, *, user_id: str, sealed: bytes, now: datetime
) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ShownChoices).values(
        channel=NAME, user_id=user_id, sealed=sealed, shown_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "user_id"],
            set_={"sealed": statement.excluded.sealed, "shown_at": statement.excluded.shown_at},
        )
    )


async def _load_choices(session: AsyncSession, *, user_id: str) -> bytes | None:
    return await session.scalar(
        select(ShownChoices.sealed).where(
            ShownChoices.channel == NAME, ShownChoices.user_id == user_id
        )
    )


@dataclasses.dataclass
class _Attempt:
    """One send's progress: whether part of the reply is out, and whether the token was
    refreshed for it already (once per send)."""

    sent_any: bool = False
    refreshed: bool = False


@dataclasses.dataclass(frozen=True)
class _Refresh:
    """What Zalo said to a refresh: new tokens, a refusal (the refresh token is no good), or
    nothing (the request failed on the way)."""

    access_token: str = ""
    refresh_token: str = ""
    expires_in: int = 0
    refused: str = ""
    failed: str = ""


class TokenKeeper:
    """The OA's access token, from the ChannelToken row, refreshed before it expires and when
    Zalo refuses it; never two refreshes at once in a process (an asyncio lock) nor across
    processes (the row's lock and `refresh_started_at` as a lease)."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        clock: Callable[[], datetime],
        channel: str = NAME,
    ):
        self.settings = settings
        self.sessions = sessions
        self.http = http
        self.clock = clock
        self.channel = channel
        self._lock = asyncio.Lock()
        self._access = ""
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._spent_logged = False

    def _fresh(self, now: datetime) -> bool:
        return bool(self._access) and self._expires_at - now > REFRESH_MARGIN

    async def current(self) -> str:
        """A token to send with: the one in memory while it has more than the margin left."""
        if self._fresh(self.clock()):
            return self._access
        async with self._lock:
            if self._fresh(self.clock()):
                return self._access
            return await self._obtain(refused="")

    async def refused(self, token: str) -> str:
        """Zalo refused `token` (-216/-220): a newer one, refreshing unless someone has."""
        async with self._lock:
            if self._access and self._access != token and self._fresh(self.clock()):
                return self._access
            return await self._obtain(refused=token)

    def _keep(self, row_access: str, expires_at: datetime) -> str:
        self._access, self._expires_at = row_access, expires_at
        return row_access

    async def _obtain(self, *, refused: str) -> str:
        while True:
            async with self.sessions() as session, session.begin():
                now = self.clock()
                row = await tokens.lock(session, channel=self.channel)
                if row is None:
                    await self._seed(session, now)
                    row = await tokens.lock(session, channel=self.channel)
                    if row is None:
                        raise TokensUnusable(
                            "zalo: no tokens; set DOITHOAI_ZALO_ACCESS_TOKEN and "
                            "DOITHOAI_ZALO_REFRESH_TOKEN, or give new ones with the tokens command"
                        )
                if row.access_token != refused and row.expires_at - now > REFRESH_MARGIN:
                    # Another's refresh, or one under way while the old token still serves.
                    return self._keep(row.access_token, row.expires_at)
                started = row.refresh_started_at
                if started is not None and now - started < REFRESH_LEASE:
                    wait = True  # another process is refreshing: look again shortly
                else:
                    wait = False
                    interrupted = started
                    if tokens.is_spent(row):
                        if row.access_token != refused and row.expires_at > now:
                            return self._keep(row.access_token, row.expires_at)
                        self._log_spent()
                        raise TokensUnusable(
                            "zalo: the refresh token is spent; an operator must give new tokens"
                        )
                    refresh_token = row.refresh_token
                    tokens.start_refresh(row, now=now)
            if wait:
                await asyncio.sleep(REFRESH_POLL)
                continue
            if interrupted is not None:
                log.warning(
                    "zalo: a token refresh begun at %s never finished (its process died?); "
                    "trying the stored refresh token",
                    interrupted.isoformat(timespec="seconds"),
                )
            answer = await self._ask(refresh_token)
            outcome = (
                "refreshed" if answer.access_token else "refused" if answer.refused else "failed"
            )
            metrics.TOKEN_REFRESHES.labels(self.channel, outcome).inc()
            return await self._record(answer)

    async def _seed(self, session: AsyncSession, now: datetime) -> None:
        access = self.settings.zalo_access_token
        refresh = self.settings.zalo_refresh_token
        if access is None and refresh is None:
            return
        await tokens.seed(
            session,
            channel=self.channel,
            access_token=access.get_secret_value() if access else "",
            refresh_token=refresh.get_secret_value() if refresh else tokens.SPENT,
            # The settings' tokens are of unknown age: with a refresh token, refresh at first
            # use (its expiry is then known); an access token alone is used until refused.
            expires_at=now + (SEEDED_LIFETIME if refresh else timedelta(hours=25)),
            now=now,
        )

    async def _ask(self, refresh_token: str) -> _Refresh:
        """POST /v4/oa/access_token with the refresh token; never raises."""
        secret = self.settings.zalo_app_secret
        try:
            response = await self.http.post(
                f"{self.settings.zalo_oauth_url}/v4/oa/access_token",
                headers={"secret_key": secret.get_secret_value() if secret else ""},
                data={
                    "app_id": self.settings.zalo_app_id or "",
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
            )
            body = response.json()
        except httpx.HTTPError as exc:
            return _Refresh(failed=f"{type(exc).__name__}")
        except ValueError:
            return _Refresh(failed=f"HTTP {response.status_code}, not JSON")
        if not isinstance(body, dict):
            return _Refresh(failed="unexpected answer")
        if body.get("access_token") and body.get("refresh_token"):
            try:
                expires_in = int(body.get("expires_in") or 0)
            except (TypeError, ValueError):
                expires_in = 0
            return _Refresh(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=expires_in or 3600,
            )
        if "error" in body:
            description = body.get("error_description") or body.get("error_name") or ""
            return _Refresh(refused=f"error {body['error']}: {str(description)[:200]}")
        return _Refresh(failed=f"HTTP {response.status_code}, no tokens in the answer")

    async def _record(self, answer: _Refresh) -> str:
        async with self.sessions() as session, session.begin():
            now = self.clock()
            row = await tokens.lock(session, channel=self.channel)
            if row is None:  # deleted by hand meanwhile: keep what Zalo gave, if anything
                if answer.access_token:
                    await tokens.seed(
                        session,
                        channel=self.channel,
                        access_token=answer.access_token,
                        refresh_token=answer.refresh_token,
                        expires_at=now + timedelta(seconds=answer.expires_in),
                        now=now,
                    )
                    return self._keep(
                        answer.access_token, now + timedelta(seconds=answer.expires_in)
                    )
                raise TokensUnusable("zalo: the token row vanished during a refresh")
            if answer.access_token:
                expires_at = now + timedelta(seconds=answer.expires_in)
                tokens.save_refreshed(
                    row,
                    access_token=answer.access_token,
                    refresh_token=answer.refresh_token,
                    expires_at=expires_at,
                    now=now,
                )
                log.info("zalo: access token refreshed")
                return self._keep(answer.access_token, expires_at)
            if answer.refused:
                tokens.mark_spent(row, now=now)
            else:
                tokens.abandon_refresh(row, now=now)
        # Raised once the transaction has committed: raising inside it would roll it back.
        if answer.refused:
            log.error(
                "zalo: Zalo refused the refresh token (%s); Zalo is unusable until an "
                "operator gives new tokens (doithoai zalo tokens)",
                answer.refused,
            )
            self._spent_logged = True
            raise TokensUnusable(f"zalo: refresh refused ({answer.refused})")
        log.warning("zalo: token refresh failed (%s); will try again", answer.failed)
        raise TokensUnusable(f"zalo: token refresh failed ({answer.failed})")

    def _log_spent(self) -> None:
        if not self._spent_logged:
            log.error(
                "zalo: the refresh token is spent; Zalo is unusable until an operator gives "
                "new tokens (doithoai zalo tokens)"
            )
            self._spent_logged = True


class ZaloChannel:
    name = NAME

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sealer: object | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        """`sealer` is the dispatcher's Sealer (kept for the shared contract); the shown
        choices are sealed under their own key derived from SECRET_KEY (see _ChoiceSeal).

        `rate` and `spacing` are the settings' zalo_rate and zalo_chat_interval."""
        if settings.secret_key is None:
            raise ValueError("SECRET_KEY is needed to seal the choices shown on Zalo")
        self.settings = settings
        self.sessions = sessions
        self.sealer = sealer
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rate = settings.zalo_rate
        self.spacing = timedelta(seconds=settings.zalo_chat_interval)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0, pool=5.0))
        self.tokens = TokenKeeper(
            settings=settings, sessions=sessions, http=self.http, clock=self.clock
        )
        self._seal = _ChoiceSeal(settings.secret_key.get_secret_value())
        self.t = Translator(settings.default_locale, settings.zone)
        self._names: OrderedDict[str, str] = OrderedDict()  # user id -> profile name, bounded

    async def close(self) -> None:
        if self._own_http:
            await self.http.aclose()

    # ---- incoming ---------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """verify_signature with this OA's app id and secret key."""
        secret = self.settings.zalo_oa_secret_key
        return verify_signature(
            raw,
            headers,
            app_id=self.settings.zalo_app_id or "",
            oa_secret_key=secret.get_secret_value() if secret else "",
        )

    async def parse(self, raw: bytes) -> Incoming | None:
        """A verified event as an Incoming (with the person's name from their Zalo profile:
        Zalo's events carry none), or None for what the bot does not answer."""
        incoming = await self._parse(raw)
        if incoming is None or incoming.display_name:
            return incoming
        name = await self.display_name(incoming.address.user_id)
        return dataclasses.replace(incoming, display_name=name) if name else incoming

    async def display_name(self, user_id: str) -> str:
        """The follower's display name from their Zalo profile, fetched once per process and
        kept for their account if it has no name yet (a named question shows it); "" when Zalo
        does not say (the event is handled all the same)."""
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        name = await self._profile_name(user_id)
        if name is None:
            return ""
        self._names[user_id] = name
        while len(self._names) > PROFILE_CACHE:
            self._names.popitem(last=False)
        if name:
            async with self.sessions() as session, session.begin():
                await fill_display_name(session, channel=NAME, user_id=user_id, display_name=name)
        return name

    async def _profile_name(self, user_id: str) -> str | None:
        """GET user/detail; None if it could not be asked (the next event asks again)."""
        url = f"{self.settings.zalo_api_url}/v3.0/oa/user/detail"
        params = {"data": json.dumps({"user_id": user_id})}
        try:
            token = await self.tokens.current()
            for attempt in range(2):
                response = await self.http.get(
                    url, headers={"access_token": token}, params=params, timeout=PROFILE_TIMEOUT
                )
                body = response.json()
                code = body.get("error") if isinstance(body, dict) else None
                if code in TOKEN_ERRORS and attempt == 0:
                    token = await self.tokens.refused(token)
                    continue
                break
        except (TokensUnusable, httpx.HTTPError, ValueError) as exc:
            log.warning("zalo: could not read a follower's profile (%s)", type(exc).__name__)
            return None
        if code != 0:
            log.warning("zalo: a follower's profile was refused (error %s)", code)
            return "" if code in UNREACHABLE_ERRORS else None
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        raw_name = data.get("display_name")
        return _clean_name(raw_name) if isinstance(raw_name, str) else ""

    async def _parse(self, raw: bytes) -> Incoming | None:
        """A verified event as an Incoming, or None for what the bot does not answer (the OA's
        own messages echoed, delivery and seen receipts, unfollow, unknown JSON).

        An unfollow marks the person's account unreachable here (nothing is answered); they
        become reachable again when they follow or write (the dispatcher clears it)."""
        try:
            event = safe_json.loads(raw, max_bytes=MAX_EVENT_BYTES)
        except safe_json.BadJson:
            return None
        if not isinstance(event, dict):
            return None
        name, user_id, key = event.get("event_name"), _sender(event), event_key(event)
        if not isinstance(name, str) or not user_id or key is None:
            return None
        address = Address(NAME, user_id)
        if name == "follow":
            # Following the OA is Zalo's "start": greet and offer the consent statement.
            return Incoming(address, key, Kind.COMMAND, command="start")
        if name == "unfollow":
            async with self.sessions() as session, session.begin():
                await mark_unreachable(session, channel=NAME, user_id=user_id, at=self.clock())
            return None
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        if name == "user_send_text":
            text = str(message.get("text") or "")
            command, _, rest = text[1:].partition(" ") if text.startswith("/") else ("", "", "")
            if command.strip():
                return Incoming(
                    address, key, Kind.COMMAND, command=command.strip().lower(), text=rest.strip()
                )
            data = await self._chosen(user_id, text)
            if data is not None:
                return Incoming(address, key, Kind.BUTTON, data=data)
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

    async def incoming(self, raw: bytes) -> Incoming | None:
        """A stored webhook body as an Incoming (the intake's way in)."""
        return await self.parse(raw)

    async def _chosen(self, user_id: str, text: str) -> str | None:
        """The data of the choice this text picks among the last shown to the person: a
        pressed button sends its label back; with numbered options, a typed number."""
        wanted = text.strip()
        if not wanted:
            return None
        async with self.sessions() as session:
            sealed = await _load_choices(session, user_id=user_id)
        if sealed is None:
            return None
        choices = self._seal.open(user_id, sealed)
        if choices is None:
            return None
        labels: dict[str, str] = choices.get("labels", {})
        if wanted in labels:
            return labels[wanted]
        folded = {label.strip().casefold(): data for label, data in labels.items()}
        if wanted.casefold() in folded:
            return folded[wanted.casefold()]
        number = _NUMBER.match(wanted)
        if number and choices.get("numbered"):
            return choices.get("numbers", {}).get(str(int(number.group(1))))
        return None

    async def _show(self, user_id: str, buttons: list[Button], *, numbered: bool) -> None:
        labels = [b.label for b in buttons]
        choices = {
            # a label shown twice picks neither: only its number tells them apart
            "labels": {b.label: b.data for b in buttons if labels.count(b.label) == 1},
            "numbers": {str(n): b.data for n, b in enumerate(buttons, start=1)},
            "numbered": numbered,
        }
        sealed = self._seal.seal(user_id, choices)
        async with self.sessions() as session, session.begin():
            await _save_choices(session, user_id=user_id, sealed=sealed, now=self.clock())

    # ---- outgoing ---------------------------------------------------------------------

    async def send(self, address: Address, reply: Reply) -> Delivery:
        """The photo first, if any (the title beside it), then the text in as many parts as it
        needs, the choices on the last part, then the phone request. Once something is out, a
        throttle is waited for here rather than reported (reporting it would send again what
        the person already has)."""
        attempt = _Attempt()
        try:
            return await self._send(address, reply, attempt)
        except TokensUnusable as exc:
            if attempt.sent_any:
                return Delivery(SendResult.UNKNOWN, reason=f"partly sent; {exc}")
            return Delivery(SendResult.THROTTLED, TOKEN_BACKOFF, str(exc))

    async def _send(self, address: Address, reply: Reply, attempt: _Attempt) -> Delivery:
        if len(reply.photo) > IMAGE_LIMIT:
            log.warning("zalo: image of %d bytes over Zalo's limit; not sent", len(reply.photo))
            reply = dataclasses.replace(reply, photo=b"")
        if reply.photo:
            delivery = await self._send_photo(address, reply, attempt)
            if delivery.result is not SendResult.SENT:
                return delivery
            if not (reply.text or reply.buttons or reply.ask_phone):
                return delivery
            reply = dataclasses.replace(reply, title="")  # shown beside the photo
        buttons = _buttons(reply)
        body = plain(reply)
        if buttons:
            delivery = await self._send_choices(address, body, buttons, attempt)
        elif body.strip() or not reply.ask_phone:
            delivery = await self._send_text(address, body or "…", attempt)
        else:
            delivery = Delivery(SendResult.SENT)
        if delivery.result is not SendResult.SENT or not reply.ask_phone:
            return delivery
        return await self._post(address, self._phone_request(reply), attempt)

    async def _send_text(self, address: Address, text: str, attempt: _Attempt) -> Delivery:
        for part in split_text(text):
            delivery = await self._post(address, {"text": part}, attempt)
            if delivery.result is not SendResult.SENT:
                return delivery
        return Delivery(SendResult.SENT)

    async def _send_choices(
        self, address: Address, body: str, buttons: list[Button], attempt: _Attempt
    ) -> Delivery:
        """Buttons as Zalo's template where it takes them; else, or if Zalo refuses the
        template, the choices as numbered lines the person answers by number."""
        if _template_fits(buttons):
            parts = split_text(body or "…")
            for part in parts[:-1]:
                delivery = await self._post(address, {"text": part}, attempt)
                if delivery.result is not SendResult.SENT:
                    return delivery
            await self._show(address.user_id, buttons, numbered=False)
            template = {
                "text": parts[-1],
                "attachment": {
                    "type": "template",
                    "payload": {
                        "buttons": [
                            {"title": b.label, "type": "oa.query.show", "payload": b.label}
                            for b in buttons
                        ]
                    },
                },
            }
            delivery = await self._post(address, template, attempt)
            if delivery.result is not SendResult.FAILED:
                return delivery
            log.warning("zalo: template refused (%s); sending numbered options", delivery.reason)
            body = parts[-1]  # refused with its text: the earlier parts are out already
        await self._show(address.user_id, buttons, numbered=True)
        options = "\n".join(f"{n}. {b.label}" for n, b in enumerate(buttons, start=1))
        hint = self.t._("Reply with the number of your choice.")
        listing = f"{options}\n\n{hint}"
        if body and len(body) + len(listing) + 2 <= TEXT_LIMIT:
            return await self._send_text(address, f"{body}\n\n{listing}", attempt)
        if body:
            delivery = await self._send_text(address, body, attempt)
            if delivery.result is not SendResult.SENT:
                return delivery
        return await self._send_text(address, listing, attempt)

    def _phone_request(self, reply: Reply) -> dict[str, Any]:
        """Zalo's template asking the person to share their information (the phone); the
        answer comes back as a user_submit_info event."""
        title = reply.ask_phone[:BUTTON_TITLE_LIMIT]
        subtitle = self.t._("Tap here to send us the phone number of your Zalo account.")
        return {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "request_user_info",
                    "elements": [
                        {"title": title, "subtitle": subtitle, "image_url": REQUEST_INFO_IMAGE}
                    ],
                },
            }
        }

    async def _send_photo(self, address: Address, reply: Reply, attempt: _Attempt) -> Delivery:
        """Upload the image (upload/image), then send it as a media template with the title
        beside it (an image over Zalo's 1 MB never comes here: its text goes alone)."""
        uploaded = await self._upload(reply.photo, attempt)
        if isinstance(uploaded, Delivery):
            return uploaded
        message: dict[str, Any] = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": uploaded}],
                },
            }
        }
        if reply.title:
            message["text"] = split_text(reply.title)[0]
        return await self._post(address, message, attempt)

    async def _upload(self, photo: bytes, attempt: _Attempt) -> str | Delivery:
        url = f"{self.settings.zalo_api_url}/v2.0/oa/upload/image"
        kind = "image/png" if photo.startswith(b"\x89PNG") else "image/jpeg"
        name = "chart.png" if kind == "image/png" else "image.jpg"
        token = await self.tokens.current()
        for _try in range(2):
            try:
                response = await self.http.post(
                    url, headers={"access_token": token}, files={"file": (name, photo, kind)}
                )
                body = response.json()
            except httpx.HTTPError as exc:
                # An upload sends nothing to the person: safe to try the whole reply again.
                return self._transport(exc, attempt, uploading=True)
            except ValueError:
                return Delivery(SendResult.RETRY, reason=f"upload: HTTP {response.status_code}")
            code = body.get("error") if isinstance(body, dict) else None
            if code == 0:
                attachment = (body.get("data") or {}).get("attachment_id")
                if attachment:
                    return str(attachment)
                return Delivery(SendResult.FAILED, reason="upload: no attachment_id")
            if code in TOKEN_ERRORS and not attempt.refreshed:
                attempt.refreshed = True
                token = await self.tokens.refused(token)
                continue
            return self._classify(code, body)
        return Delivery(SendResult.THROTTLED, TOKEN_BACKOFF, "upload: token refused twice")

    async def _post(self, address: Address, message: dict[str, Any], attempt: _Attempt) -> Delivery:
        """One message/cs request, with one token refresh if Zalo refuses the token, and (once
        part of the reply is out) waiting out a rate limit here."""
        url = f"{self.settings.zalo_api_url}/v3.0/oa/message/cs"
        payload = {"recipient": {"user_id": address.user_id}, "message": message}
        token = await self.tokens.current()
        throttled = 0
        while True:
            try:
                response = await self.http.post(url, headers={"access_token": token}, json=payload)
                body = response.json()
            except httpx.HTTPError as exc:
                return self._transport(exc, attempt)
            except ValueError:
                # Something answered that is not Zalo's API (a proxy?): the message may be out.
                return self._partly(
                    attempt, Delivery(SendResult.UNKNOWN, reason=f"HTTP {response.status_code}")
                )
            code = body.get("error") if isinstance(body, dict) else None
            if code == 0:
                attempt.sent_any = True
                return Delivery(SendResult.SENT)
            if code in TOKEN_ERRORS and not attempt.refreshed:
                attempt.refreshed = True
                token = await self.tokens.refused(token)
                continue
            delivery = self._classify(code, body)
            if delivery.result is SendResult.THROTTLED and attempt.sent_any and throttled < 5:
                throttled += 1
                await asyncio.sleep(delivery.retry_after)
                continue
            return self._partly(attempt, delivery)

    @staticmethod
    def _classify(code: object, body: object) -> Delivery:
        """Zalo's error codes as neutral outcomes (the reason names no person nor text)."""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        reason = f"zalo error {code}: {message[:200]}"
        if code in WINDOW_ERRORS:
            return Delivery(SendResult.WINDOW, reason=reason)
        if code in RATE_ERRORS:
            return Delivery(SendResult.THROTTLED, RATE_BACKOFF, reason)
        if code in UNREACHABLE_ERRORS:
            return Delivery(SendResult.UNREACHABLE, reason=reason)
        if code in TOKEN_ERRORS:
            return Delivery(SendResult.THROTTLED, TOKEN_BACKOFF, f"{reason} (after a refresh)")
        return Delivery(SendResult.FAILED, reason=reason)

    @staticmethod
    def _partly(attempt: _Attempt, delivery: Delivery) -> Delivery:
        """Once part of a reply is out, sending it all again would repeat that part: an
        outcome that would resend is reported as unknown instead."""
        if attempt.sent_any and delivery.result in (SendResult.RETRY, SendResult.THROTTLED):
            return Delivery(SendResult.UNKNOWN, reason=f"partly sent; {delivery.reason}")
        return delivery

    def _transport(
        self, exc: httpx.HTTPError, attempt: _Attempt, *, uploading: bool = False
    ) -> Delivery:
        reason = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            delivery = Delivery(SendResult.RETRY, reason=reason)  # nothing left the machine
        elif uploading:
            delivery = Delivery(SendResult.RETRY, reason=f"upload: {reason}")
        else:
            delivery = Delivery(SendResult.UNKNOWN, reason=reason)  # it may have arrived
        return self._partly(attempt, delivery)
