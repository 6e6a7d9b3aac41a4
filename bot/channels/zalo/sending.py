"""Sending to Zalo: customer-service messages (text in parts, choices as `oa.query.show`
buttons or numbered options, the phone request, images), and Zalo's answers as neutral
outcomes (-230/-232 outside the window, -32 throttled, -213/-227 unreachable).

POST {api}/v3.0/oa/message/cs, header `access_token`, JSON {"recipient": {"user_id"},
"message": {"text"} | {"text", "attachment": {"type": "template", "payload": {"buttons":
[{"title", "type": "oa.query.show", "payload"}]}}} | {"attachment": template
"request_user_info" | "media"}}; text at most 2000 characters, a button title at most 100, an
`oa.query.show` payload at most 1000; the answer is {"error": 0, ...} or a negative error.
Image upload: POST {api}/v2.0/oa/upload/image, multipart "file" (jpg/png, 1 MB), answer
{"error": 0, "data": {"attachment_id"}}.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.core import buttons as btn
from bot.core import messages
from bot.core.config import Settings
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Delivery, Reply, SendResult

from .tokens import TOKEN_ERRORS, TokenKeeper, TokensUnusable

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # characters of a customer-service message's text
MAX_BUTTONS = 5  # buttons of one template message; more are listed as numbered options
BUTTON_TITLE_LIMIT = 100
BUTTON_PAYLOAD_LIMIT = 1000
IMAGE_LIMIT = 1024 * 1024  # upload/image takes jpg and png up to 1 MB
# The image Zalo's own documentation shows in its request_user_info example: the template
# needs one, and the service has no public image of its own.
REQUEST_INFO_IMAGE = "https://developers.zalo.me/web/static/zalo.png"

# Zalo's error codes (the "error" field of every answer) and what they mean for us.
WINDOW_ERRORS = {-230, -232}  # the person has not written to the OA within the window
UNREACHABLE_ERRORS = {-213, -227}  # not following the OA / blocked or gone
RATE_ERRORS = {-32}  # over the app's rate limit
RATE_BACKOFF = 60.0  # seconds: Zalo says nothing about when to try again
TOKEN_BACKOFF = 300.0  # no usable token: try again later rather than lose the message

# Called with the person's id, the choices and whether they are shown numbered, just before
# they are shown: what the person sends back is read against them.
Remember = Callable[[str, list[Button], bool], Awaitable[None]]


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into parts of at most `limit` characters (bot.core.messages)."""
    return messages.split_text(text, limit)


def plain(reply: Reply) -> str:
    """The reply as Zalo shows it: no markup, so the title is its own first line in capitals."""
    if reply.title and reply.text:
        return f"{reply.title.upper()}\n\n{reply.text}"
    return reply.title.upper() if reply.title else reply.text


def choice_buttons(reply: Reply) -> list[Button]:
    # Zalo takes no voice notes from the OA: "🔊 Nghe" (bot.speech) is not offered here.
    return [
        button
        for row in reply.buttons
        for button in row
        if btn.parse(button.data) is None or btn.parse(button.data).format is not btn.LISTEN
    ]


def template_fits(buttons: list[Button]) -> bool:
    """Can these choices be real buttons? Few enough, labels Zalo takes, and each label unique
    (the label comes back as the pressed button's text)."""
    labels = [b.label.strip().casefold() for b in buttons]
    return (
        0 < len(buttons) <= MAX_BUTTONS
        and all(0 < len(b.label.strip()) <= BUTTON_TITLE_LIMIT for b in buttons)
        and all(len(b.label) <= BUTTON_PAYLOAD_LIMIT for b in buttons)
        and len(set(labels)) == len(labels)
    )


@dataclasses.dataclass
class _Attempt:
    """One send's progress: whether part of the reply is out, and whether the token was
    refreshed for it already (once per send)."""

    sent_any: bool = False
    refreshed: bool = False


class Sender:
    """One reply to one person, as the messages Zalo takes."""

    def __init__(
        self,
        *,
        settings: Settings,
        http: httpx.AsyncClient,
        tokens: TokenKeeper,
        remember: Remember,
    ):
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.remember = remember
        self.t = Translator(settings.default_locale, settings.zone)

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
        buttons = choice_buttons(reply)
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
        if template_fits(buttons):
            parts = split_text(body or "…")
            for part in parts[:-1]:
                delivery = await self._post(address, {"text": part}, attempt)
                if delivery.result is not SendResult.SENT:
                    return delivery
            await self.remember(address.user_id, buttons, False)
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
        await self.remember(address.user_id, buttons, True)
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
