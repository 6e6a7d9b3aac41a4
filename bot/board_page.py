"""A page of the board: the request's language and links (Page, HowToAsk), its rendering from
the templates, and the HTTP answer (ETag, cache and security headers)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from bot.core.i18n import NATIVE_NAMES, Translator, choose
from handlers.decisions import DECISION_NAMES
from storage.board import (
    ANSWERED,
    COMMITTED,
    FULFILLED,
    OVERDUE,
    REOPENED,
    STATES,
    WAITING,
    BoardCommitment,
)
from storage.models import Dialogue
from storage.topics import AGENCIES, TOPICS

if TYPE_CHECKING:
    from bot.runtime import Runtime


log = logging.getLogger("doithoai.board")
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
CSS = HERE / "static" / "board.css"

MAX_AGE = 60  # seconds a page may be reused by a browser or a proxy
# ... and served stale by a proxy while it asks for a fresh one.
STALE_WHILE_REVALIDATE = 600
CSS_MAX_AGE = 7 * 24 * 3600  # the stylesheet's address changes with its content

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


MEDIA = {
    "html": "text/html; charset=utf-8",
    "json_feed": "application/feed+json; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "css": "text/css; charset=utf-8",
}


# Beside each state's words, a sign from the fonts of any phone (no emoji: a cheap phone may
# draw an empty box), so that a state never rests on colour alone.
STATE_ICONS = {
    WAITING: "○",
    ANSWERED: "✓",
    COMMITTED: "✓",
    OVERDUE: "⚠",
    FULFILLED: "✔",
    REOPENED: "↺",
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> tuple[bytes, str]:
    body = CSS.read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:12]


@cache
def _qr_svg(link: str) -> str:
    code = segno.make_qr(link, error="m", boost_error=False)
    return code.svg_inline(scale=4, border=4, dark="#000", light="#fff", svgclass="qr")


class HowToAsk:
    """Where people send their questions: the Telegram bot's link (its username from the
    settings, or asked of Telegram once with getMe and kept) and the Zalo OA's page when Zalo
    is configured. A failed getMe is tried again after a while, never on every request."""

    RETRY = timedelta(minutes=10)

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._username: str | None = settings.telegram_bot_username
        self._failed_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def telegram(self) -> str | None:
        if self._username is not None or self.settings.telegram_token is None:
            return _bot_link(self._username)
        async with self._lock:
            now = datetime.now(UTC)
            if self._username is None and (
                self._failed_at is None or now - self._failed_at > self.RETRY
            ):
                self._username = await self._ask_telegram()
                self._failed_at = None if self._username else now
        return _bot_link(self._username)

    async def _ask_telegram(self) -> str | None:
        import httpx

        token = self.settings.telegram_token.get_secret_value()
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.post(f"{self.settings.telegram_api_url}/bot{token}/getMe")
                answer.raise_for_status()
                return answer.json()["result"]["username"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "the board could not ask Telegram for the bot's name (%s)", type(exc).__name__
            )
            return None

    def zalo(self) -> str | None:
        if not self.settings.zalo_enabled or not self.settings.zalo_oa_id:
            return None
        return f"https://zalo.me/{self.settings.zalo_oa_id}"


def _bot_link(username: str | None) -> str | None:
    if not username:
        return None
    name = username.strip().removeprefix("@")
    if not name or not all(ch.isalnum() or ch == "_" for ch in name):
        return None
    return f"https://t.me/{name}"


class Page:
    """One request's language, links and names: what every template and feed is given."""

    def __init__(self, request: Request, runtime: Runtime, names: dict[str, str]):
        settings = runtime.settings
        self.request = request
        self.default = settings.default_locale
        self.lang = choose(request.query_params.get("lang"), self.default)
        self.t = Translator(self.lang, settings.zone)
        self.now = runtime.clock()
        self.today = self.now.astimezone(settings.zone).date()
        self.prefix = request.scope.get("root_path", "").rstrip("/")
        # The board's configured origin, else the webhooks' one, else relative links: never
        # the request's Host header, which anyone can set (and the pages are cached publicly).
        self.base = settings.public_url or settings.webhook_url or ""
        self.host = urlsplit(self.base).hostname or "localhost"
        self.bot_link = _bot_link(settings.telegram_bot_username)
        self.zalo_link: str | None = None
        self._names = names

    # links

    def url(self, path: str, *, fragment: str = "", **params: str | None) -> str:
        """A link on the board, in this page's language (the default needs no parameter)."""
        query = {k: v for k, v in params.items() if v}
        if self.lang != self.default:
            query["lang"] = self.lang
        text = self.prefix + path
        if query:
            text += "?" + urlencode(query)
        return text + (f"#{fragment}" if fragment else "")

    def absolute(self, path: str, *, fragment: str = "", **params: str | None) -> str:
        return self.base + self.url(path, fragment=fragment, **params)

    def switch(self, lang: str) -> str:
        """This page in another language."""
        query = {
            k: v for k, v in self.request.query_params.items() if k in PARAMETERS and k != "lang"
        }
        if lang != self.default:
            query["lang"] = lang
        path = self.prefix + self.request.url.path.removeprefix(self.prefix)
        return path + ("?" + urlencode(query) if query else "")

    # names

    def agency(self, code: str) -> str:
        name = self._names.get(code)
        if name is None:
            return code
        return self.t._(name) if code in AGENCIES else name

    def topic(self, code: str | None) -> str:
        if code is None:
            return ""
        topic = TOPICS.get(code)
        return self.t._(topic.name) if topic else code

    def title(self, dialogue: Dialogue | None = None, *, kind: str = "", text: str = "") -> str:
        if dialogue is not None:
            kind, text = dialogue.kind, dialogue.title
        if kind == "general":
            return self.t._("General questions (not for a particular dialogue)")
        return text

    def state(self, state: str) -> str:
        _ = self.t._
        return {
            WAITING: _("Waiting for an answer"),
            ANSWERED: _("Answered"),
            COMMITTED: _("Committed"),
            OVERDUE: _("Overdue"),
            FULFILLED: _("Fulfilled"),
            REOPENED: _("Not satisfied: being looked at again"),
        }[state]

    def decision(self, code: str) -> str:
        """An adoption decision's name (the consultation's vocabulary)."""
        return self.t._(DECISION_NAMES.get(code, code))

    def commitment_state(self, commitment: BoardCommitment) -> tuple[str, str]:
        """The commitment's label and its class (the class only styles; the label says it)."""
        _ = self.t._
        if commitment.overdue(self.today):
            return _("Overdue"), OVERDUE
        if commitment.status == "fulfilled":
            if commitment.kept_on_time:
                return _("Fulfilled on time"), FULFILLED
            return _("Fulfilled late"), "late"
        return _("In progress"), "open"

    def wards(self, dialogue: Dialogue) -> str:
        return ", ".join(dialogue.wards or [])


def _context(page: Page, **values: Any) -> dict[str, Any]:
    _body, version = _css()
    return {
        "page": page,
        "t": page.t,
        "_": page.t._,
        "ngettext": page.t.ngettext,
        "lang": page.lang,
        "languages": NATIVE_NAMES,  # the switch names each language in itself
        # One address for every language: the sheet is the same.
        "css_url": f"{page.prefix}/static/board.css?v={version}",
        "icons": STATE_ICONS,
        "states": STATES,
        "qr": Markup(_qr_svg(page.bot_link)) if page.bot_link else None,
        "zalo_qr": Markup(_qr_svg(page.zalo_link)) if page.zalo_link else None,
        **values,
    }


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if not given:
        return False
    if given.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in given.split(",")}
    return etag in tags


def _respond(
    request: Request,
    body: bytes,
    *,
    kind: str,
    lang: str,
    status: int = 200,
    max_age: int = MAX_AGE,
    etag: str | None = None,
) -> Response:
    control = f"public, max-age={max_age}"
    if max_age == MAX_AGE:
        control += f", stale-while-revalidate={STALE_WHILE_REVALIDATE}"
    headers = {"Cache-Control": control, "Content-Language": lang, **SECURITY_HEADERS}
    if status == 200:
        headers["ETag"] = etag or _etag(body)
        if _matches(request, headers["ETag"]):
            return Response(status_code=304, headers=headers)
    response = Response(body, status_code=status, headers=headers, media_type=MEDIA[kind])
    if request.method == "HEAD":
        response.body = b""  # Content-Length stays that of the GET
    return response


def _html(page: Page, template: str, **values: Any) -> bytes:
    return _environment().get_template(template).render(_context(page, **values)).encode("utf-8")


def _render(page: Page, template: str, *, status: int = 200, **values: Any) -> Response:
    body = _html(page, template, **values)
    return _respond(page.request, body, kind="html", lang=page.lang, status=status)


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _choice(request: Request, name: str, allowed: Collection[str]) -> str | None:
    """A filter's value if it is one of `allowed`; anything else is no filter."""
    value = request.query_params.get(name) or None
    return value if value in allowed else None


def _page_number(request: Request) -> int:
    """`?trang=` (or `?page=`): a page from 1; anything else is the first."""
    given = request.query_params.get("trang") or request.query_params.get("page") or ""
    number = _int(given[:9])
    return number if number else 1


# The query parameters a page may depend on (others are ignored, and do not split the cache).
PARAMETERS = ("lang", "chu-de", "co-quan", "tinh-trang", "trang", "page", "muc")


def _midnight_after(page: Page) -> datetime:
    tomorrow = page.today + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=page.t.zone)


def _soonest(page: Page, *instants: datetime | None) -> datetime:
    """The first of these instants still to come, or the next midnight."""
    later = [i for i in instants if i is not None and i > page.now]
    return min([*later, _midnight_after(page)])


def _not_found(page: Page) -> Response:
    return _render(page, "board/not_found.html", status=404)
