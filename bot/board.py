"""The public accountability board: server-rendered pages where anyone can follow the
dialogues, the questions published from them, the answers and the commitments, and feeds a
ward's portal or a newsroom can follow.

Pages are Vietnamese first (?lang=en for English, ?lang=km for Khmer), need no JavaScript, and are
small enough for a cheap phone on a slow line: a dialogue shows 30 questions a page (`?trang=`), an agency
30 commitments of each kind, a feed its last 100 entries, with links to the rest. Every
response names its language, carries an ETag (a conditional GET gets 304) and a short public
cache lifetime with stale-while-revalidate: the board changes when an official answers, and a
minute's delay is fine. Pages are read in read-only transactions (which never make the bot
wait), from kept counts and one page of rows, and rendered once per version of the data
(`PageCache`). Nothing here reads an asker; the queries in storage/board.py return no field
that could hold one.

`board_routes(runtime)` are mounted into the webhook app (bot/web.py); `create_board_app`
serves them alone (`doithoai web`). Unknown paths get the board's 404 page through
`not_found_handler(runtime)`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.board_consultation import consultation_routes
from bot.board_pages import (
    ATOM,
    PARAMETERS,
    TAG_YEAR,
    DataVersion,
    HowToAsk,
    Page,
    PageCache,
    Rendered,
    _atom_time,
    _css,
    _etag,
    _html,
    _int,
    _not_found,
    _respond,
)
from bot.core.i18n import SUPPORTED, choose
from bot.core.lifecycles import DialogueStatus
from storage import board as store
from storage.board import (
    STATES,
    FeedEntry,
)
from storage.consultations import public_consultations
from storage.db import reading
from storage.models import Dialogue

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("doithoai.board")

CSS_MAX_AGE = 7 * 24 * 3600  # the stylesheet's address changes with its content
FEED_EPOCH = datetime(TAG_YEAR, 1, 1, tzinfo=UTC)  # an empty feed's `updated`
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _choice(request: Request, name: str, allowed: Collection[str]) -> str | None:
    """A filter's value if it is one of `allowed`; anything else is no filter."""
    value = request.query_params.get(name) or None
    return value if value in allowed else None


def _page_number(request: Request) -> int:
    """`?trang=` (or `?page=`): a page from 1; anything else is the first."""
    given = request.query_params.get("trang") or request.query_params.get("page") or ""
    number = _int(given[:9])
    return number if number else 1


def _midnight_after(page: Page) -> datetime:
    tomorrow = page.today + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=page.t.zone)


def _soonest(page: Page, *instants: datetime | None) -> datetime:
    """The first of these instants still to come, or the next midnight."""
    later = [i for i in instants if i is not None and i > page.now]
    return min([*later, _midnight_after(page)])


def board_routes(runtime: Runtime, cache: PageCache | None = None) -> list[BaseRoute]:
    """The board's pages, feeds, sitemap, robots.txt and stylesheet (GET, and HEAD).

    Every page reads in short read-only transactions (on SQLite they take no lock, so a reader
    never makes the bot wait) and is rendered once per version of the data (`PageCache`)."""
    pages = cache if cache is not None else PageCache()
    data_version = DataVersion(runtime)
    how = HowToAsk(runtime.settings)
    names_cache: dict[str, Any] = {"version": None, "names": {}}

    async def serve(
        request: Request,
        load: Callable[[Any, Page], Awaitable[Callable[[], tuple[bytes, datetime | None, int]]]],
        *,
        kind: str = "html",
    ) -> Response:
        """The page for this request: from the cache if its data has not changed, else
        loaded in one short read and rendered (outside the transaction)."""
        now = runtime.clock()
        version = await data_version.get()
        lang = choose(request.query_params.get("lang"), runtime.settings.default_locale)
        today = now.astimezone(runtime.settings.zone).date()
        params = tuple(
            (name, request.query_params.get(name, "")[:64])
            for name in PARAMETERS
            if name in request.query_params
        )
        # Links come from the settings, never from the request's Host: no host in the key.
        key = (
            request.scope.get("root_path", ""),
            request.url.path,
            params,
            lang,
            version,
            today,
        )

        async def build() -> Rendered:
            # Before the read begins: an answer from Telegram (asked once) holds no lock.
            bot_link = await how.telegram()
            async with reading(runtime.sessions) as session:
                if names_cache["version"] != version:
                    names_cache["names"] = await store.agency_names(session)
                    names_cache["version"] = version
                page = Page(request, runtime, names_cache["names"])
                page.bot_link, page.zalo_link = bot_link, how.zalo()
                make = await load(session, page)
            body, valid_until, status = make()
            return Rendered(
                body, _etag(body), kind, page.lang, status, valid_until, time.monotonic()
            )

        entry = await pages.get(key, now, build)
        return _respond(
            request,
            entry.body,
            kind=entry.kind,
            lang=entry.lang,
            status=entry.status,
            etag=entry.etag,
        )

    def html(
        page: Page,
        template: str,
        valid_until: datetime | None = None,
        status: int = 200,
        **values: Any,
    ) -> Callable[[], tuple[bytes, datetime | None, int]]:
        return lambda: (
            _html(page, template, **values),
            valid_until or _midnight_after(page),
            status,
        )

    def missing(page: Page) -> Callable[[], tuple[bytes, datetime | None, int]]:
        return html(page, "board/not_found.html", status=404)

    async def home(request: Request) -> Response:
        async def load(session: Any, page: Page):
            upcoming = await store.upcoming(session, now=page.now)
            results = await store.recent_results(session, now=page.now, today=page.today)
            general = await store.general_intake(session)
            general_tally = (
                (await store.tallies(session, dialogue_ids=[general.id], today=page.today))[
                    general.id
                ]
                if general is not None
                else None
            )
            agencies = await store.agencies(session)
            consultations = await public_consultations(session)
            changes = [store.ends_at(d) for d in upcoming]
            return html(
                page,
                "board/home.html",
                _soonest(page, *changes),
                upcoming=upcoming,
                results=results,
                general=general,
                general_tally=general_tally,
                agencies=agencies,
                consultations=consultations,
            )

        return await serve(request, load)

    async def dialogue(request: Request) -> Response:
        ident = _int(request.path_params["dialogue_id"])

        async def load(session: Any, page: Page):
            if ident is None:
                return missing(page)
            board = await store.dialogue_board(
                session,
                dialogue_id=ident,
                today=page.today,
                topic=request.query_params.get("chu-de") or None,
                agency=request.query_params.get("co-quan") or None,
                state=_choice(request, "tinh-trang", STATES),
                page=_page_number(request),
            )
            if board is None:
                return missing(page)
            topic = _choice(request, "chu-de", board.topics)
            agency = _choice(request, "co-quan", board.agencies)
            state = _choice(request, "tinh-trang", STATES)
            d = board.dialogue
            return html(
                page,
                "board/dialogue.html",
                _soonest(page, d.starts_at, d.question_deadline),
                board=board,
                dialogue=d,
                questions=board.questions,
                topic=topic,
                agency=agency,
                state=state,
                filtered=bool(topic or agency or state),
                state_counts=board.state_counts,
                taking_questions=_taking_questions(d, page.now),
            )

        return await serve(request, load)

    async def agency(request: Request) -> Response:
        code = request.path_params["code"]

        async def load(session: Any, page: Page):
            board = await store.agency_board(
                session,
                code=code,
                today=page.today,
                section=_choice(request, "muc", store.SECTIONS),
                page=_page_number(request),
            )
            if board is None:
                return missing(page)
            return html(page, "board/agency.html", board=board, code=code)

        return await serve(request, load)

    async def feed(request: Request, kind: str) -> Response:
        number = _page_number(request)

        async def load(session: Any, page: Page):
            entries, older = await store.feed_entries(session, page=number)

            def make() -> tuple[bytes, datetime | None, int]:
                if kind == "atom":
                    return _atom_feed(page, entries, number, older), None, 200
                body = json.dumps(
                    _json_feed(page, entries, number, older), ensure_ascii=False, indent=1
                )
                return body.encode("utf-8"), None, 200

            return make

        return await serve(request, load, kind="atom" if kind == "atom" else "json_feed")

    async def json_feed(request: Request) -> Response:
        return await feed(request, "json")

    async def atom_feed(request: Request) -> Response:
        return await feed(request, "atom")

    async def sitemap(request: Request) -> Response:
        async def load(session: Any, page: Page):
            dialogues = await store.public_dialogues(session)
            agencies = await store.agencies(session)
            paths = ["/"]
            paths += [f"/doi-thoai/{d.id}" for d in dialogues]
            paths += [f"/co-quan/{a.code}" for a in agencies]
            paths += [f"/tham-van/{c.id}" for c in await public_consultations(session)]
            return lambda: (_sitemap(page, paths), None, 200)

        return await serve(request, load, kind="xml")

    async def robots(request: Request) -> Response:
        page = Page(request, runtime, {})
        body = "User-agent: *\nAllow: /\nDisallow: /telegram\nDisallow: /zalo\n"
        if page.base:  # the protocol wants an absolute address: none without a known origin
            body += f"Sitemap: {page.base}{page.prefix}/sitemap.xml\n"
        return _respond(request, body.encode("utf-8"), kind="text", lang=page.lang)

    async def stylesheet(request: Request) -> Response:
        body, _version = _css()
        lang = runtime.settings.default_locale
        return _respond(request, body, kind="css", lang=lang, max_age=CSS_MAX_AGE)

    return [
        *consultation_routes(runtime),
        Route("/", home, methods=["GET"]),
        Route("/doi-thoai/{dialogue_id}", dialogue, methods=["GET"]),
        Route("/co-quan/{code}", agency, methods=["GET"]),
        Route("/feed.json", json_feed, methods=["GET"]),
        Route("/feed.atom", atom_feed, methods=["GET"]),
        Route("/sitemap.xml", sitemap, methods=["GET"]),
        Route("/robots.txt", robots, methods=["GET"]),
        Route("/static/board.css", stylesheet, methods=["GET"]),
    ]


def _taking_questions(dialogue: Dialogue, now: datetime) -> bool:
    if dialogue.kind == "general":
        return True
    if (
        dialogue.status != DialogueStatus.PLANNED
        or dialogue.starts_at is None
        or dialogue.starts_at <= now
    ):
        return False
    return dialogue.question_deadline is None or dialogue.question_deadline > now


def not_found_handler(runtime: Runtime) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The board's 404 page for any unknown path of the app it is mounted in; other HTTP
    errors keep Starlette's plain answer."""

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)
        return _not_found(Page(request, runtime, {}))

    return handle


def create_board_app(runtime: Runtime, cache: PageCache | None = None) -> Starlette:
    """The board on its own (`doithoai web`)."""
    return Starlette(
        routes=board_routes(runtime, cache), exception_handlers={404: not_found_handler(runtime)}
    )


# Feeds


def _entry_title(page: Page, entry: FeedEntry) -> str:
    _ = page.t._
    agency = page.agency(entry.agency)
    subject = _clip(entry.question_text or entry.text)
    if entry.kind == "answer":
        if entry.private:
            return _("{agency} answered a question kept private").format(agency=agency)
        return _("{agency} answered: {question}").format(agency=agency, question=subject)
    if entry.private:
        return {
            "commitment_made": _("{agency} made a commitment on a question kept private"),
            "commitment_updated": _("{agency} updated a commitment on a question kept private"),
            "commitment_fulfilled": _("{agency} fulfilled a commitment on a question kept private"),
        }[entry.kind].format(agency=agency)
    subject = _clip(entry.text)
    return {
        "commitment_made": _("{agency} committed: {commitment}"),
        "commitment_updated": _("Commitment update from {agency}: {commitment}"),
        "commitment_fulfilled": _("{agency} fulfilled a commitment: {commitment}"),
    }[entry.kind].format(agency=agency, commitment=subject)


def _entry_text(page: Page, entry: FeedEntry) -> str:
    _ = page.t._
    lines = [
        _("Dialogue: {title}").format(
            title=page.title(kind=entry.dialogue_kind, text=entry.dialogue_title)
        )
    ]
    if entry.question_text:
        lines.append(_("Question: {text}").format(text=entry.question_text))
    elif entry.private:
        lines.append(_("The question is kept private to protect the person who asked it."))
    if entry.kind == "answer":
        answer = _("Answer from {agency}: {text}")
        lines.append(answer.format(agency=page.agency(entry.agency), text=entry.text))
        if entry.in_room:
            lines.append(_("Answered at the dialogue."))
        return "\n\n".join(lines)
    if entry.text:
        lines.append(_("Commitment: {text}").format(text=entry.text))
    if entry.due_on is not None:
        lines.append(_("Deadline: {date}").format(date=page.t.date(entry.due_on)))
    if entry.progress and entry.kind != "commitment_made":
        lines.append(_("Progress: {text}").format(text=entry.progress))
    if entry.kind == "commitment_fulfilled" and entry.fulfilled_on is not None:
        lines.append(_("Fulfilled on {date}.").format(date=page.t.date(entry.fulfilled_on)))
    return "\n\n".join(lines)


def _entry_id(page: Page, entry: FeedEntry) -> str:
    return f"tag:{page.host},{TAG_YEAR}:doithoai/{entry.key}"


def _entry_link(page: Page, entry: FeedEntry) -> str:
    return page.absolute(f"/doi-thoai/{entry.dialogue_id}", fragment=entry.anchor)


def _feed_title(page: Page) -> str:
    return page.t._("Dialogues with the people: answers and commitments")


def _feed_page(page: Page, path: str, number: int) -> str:
    return page.absolute(path, trang=str(number) if number > 1 else None)


def _json_feed(
    page: Page, entries: list[FeedEntry], number: int = 1, older: bool = False
) -> dict[str, Any]:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): the newest entries, and
    `next_url` for the older ones."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _feed_title(page),
        "home_page_url": page.absolute("/"),
        "feed_url": page.absolute("/feed.json"),
        "description": page.t._(
            "Answers of the agencies and their commitments to the questions people raised "
            "in the dialogues, newest first."
        ),
        "language": page.lang,
        "authors": [{"name": page.t._("Dialogue board"), "url": page.absolute("/")}],
        "items": [
            {
                "id": _entry_id(page, entry),
                "url": _entry_link(page, entry),
                "title": _entry_title(page, entry),
                "content_text": _entry_text(page, entry),
                "date_published": entry.at.astimezone(UTC).isoformat(),
                "date_modified": entry.at.astimezone(UTC).isoformat(),
                "tags": [entry.kind, entry.agency],
                "language": page.lang,
            }
            for entry in entries
        ],
    }
    if number > 1:
        feed["feed_url"] = _feed_page(page, "/feed.json", number)
    if older:
        feed["next_url"] = _feed_page(page, "/feed.json", number + 1)
    return feed


def _atom_feed(page: Page, entries: list[FeedEntry], number: int = 1, older: bool = False) -> bytes:
    """Atom 1.0 (RFC 4287), paged as RFC 5005 says (first, previous, next)."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": page.lang})
    sub(feed, "id", f"tag:{page.host},{TAG_YEAR}:doithoai/feed")
    sub(feed, "title", _feed_title(page))
    updated = max((e.at for e in entries), default=FEED_EPOCH)
    sub(feed, "updated", _atom_time(updated))
    author = sub(feed, "author")
    sub(author, "name", page.t._("Dialogue board"))
    sub(author, "uri", page.absolute("/"))
    atom = "application/atom+xml"
    sub(feed, "link", rel="self", type=atom, href=_feed_page(page, "/feed.atom", number))
    if number > 1 or older:
        sub(feed, "link", rel="first", type=atom, href=_feed_page(page, "/feed.atom", 1))
    if number > 1:
        sub(
            feed, "link", rel="previous", type=atom, href=_feed_page(page, "/feed.atom", number - 1)
        )
    if older:
        sub(feed, "link", rel="next", type=atom, href=_feed_page(page, "/feed.atom", number + 1))
    sub(feed, "link", rel="alternate", type="text/html", href=page.absolute("/"))
    for entry in entries:
        item = sub(feed, "entry")
        sub(item, "id", _entry_id(page, entry))
        sub(item, "title", _entry_title(page, entry))
        sub(item, "updated", _atom_time(entry.at))
        sub(item, "published", _atom_time(entry.at))
        sub(item, "link", rel="alternate", type="text/html", href=_entry_link(page, entry))
        sub(item, "category", term=entry.kind)
        sub(item, "content", _entry_text(page, entry), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _sitemap(page: Page, paths: list[str]) -> bytes:
    """The sitemap protocol 0.9, each page with its English alternate."""
    ET.register_namespace("", SITEMAP)
    ET.register_namespace("xhtml", XHTML)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for path in paths:
        address = page.base + page.prefix + path
        url = ET.SubElement(root, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = address
        for lang in SUPPORTED:
            query = "" if lang == page.default else "?" + urlencode({"lang": lang})
            attrs = {"rel": "alternate", "hreflang": lang, "href": address + query}
            ET.SubElement(url, f"{{{XHTML}}}link", attrs)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
