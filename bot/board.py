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
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.board_cache import DataVersion, PageCache, Rendered
from bot.board_feeds import _atom_feed, _json_feed, _sitemap
from bot.board_page import (
    CSS_MAX_AGE,
    PARAMETERS,
    HowToAsk,
    Page,
    _choice,
    _css,
    _etag,
    _html,
    _int,
    _midnight_after,
    _not_found,
    _page_number,
    _respond,
    _soonest,
)
from bot.core.i18n import choose
from storage import board as store
from storage import board_agencies, board_dialogues, board_feed, board_tallies, dialogues
from storage.board import STATES
from storage.consultations import public_consultations
from storage.db import reading
from storage.models import Dialogue

if TYPE_CHECKING:
    from bot.runtime import Runtime


class _BoardPages:
    """The board's request handlers, sharing one page cache, one data version and the links
    to the bot."""

    def __init__(self, runtime: Runtime, cache: PageCache | None) -> None:
        self.runtime = runtime
        self.pages = cache if cache is not None else PageCache()
        self.data_version = DataVersion(runtime)
        self.how = HowToAsk(runtime.settings)
        self.names_cache: dict[str, Any] = {"version": None, "names": {}}

    async def serve(
        self,
        request: Request,
        load: Callable[[Any, Page], Awaitable[Callable[[], tuple[bytes, datetime | None, int]]]],
        *,
        kind: str = "html",
    ) -> Response:
        """The page for this request: from the cache if its data has not changed, else
        loaded in one short read and rendered (outside the transaction)."""
        now = self.runtime.clock()
        version = await self.data_version.get()
        lang = choose(request.query_params.get("lang"), self.runtime.settings.default_locale)
        today = now.astimezone(self.runtime.settings.zone).date()
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
            bot_link = await self.how.telegram()
            async with reading(self.runtime.sessions) as session:
                if self.names_cache["version"] != version:
                    self.names_cache["names"] = await board_agencies.agency_names(session)
                    self.names_cache["version"] = version
                page = Page(request, self.runtime, self.names_cache["names"])
                page.bot_link, page.zalo_link = bot_link, self.how.zalo()
                make = await load(session, page)
            body, valid_until, status = make()
            return Rendered(
                body, _etag(body), kind, page.lang, status, valid_until, time.monotonic()
            )

        entry = await self.pages.get(key, now, build)
        return _respond(
            request,
            entry.body,
            kind=entry.kind,
            lang=entry.lang,
            status=entry.status,
            etag=entry.etag,
        )

    @staticmethod
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

    @staticmethod
    def missing(page: Page) -> Callable[[], tuple[bytes, datetime | None, int]]:
        return _BoardPages.html(page, "board/not_found.html", status=404)

    async def home(self, request: Request) -> Response:
        async def load(session: Any, page: Page):
            upcoming = await board_dialogues.upcoming(session, now=page.now)
            results = await board_dialogues.recent_results(session, now=page.now, today=page.today)
            general = await dialogues.find_general_intake(session)
            general_tally = (
                (await board_tallies.tallies(session, dialogue_ids=[general.id], today=page.today))[
                    general.id
                ]
                if general is not None
                else None
            )
            agencies = await board_agencies.agencies(session)
            consultations = await public_consultations(session)
            changes = [dialogues.ends_at(d) for d in upcoming]
            return self.html(
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

        return await self.serve(request, load)

    async def dialogue(self, request: Request) -> Response:
        ident = _int(request.path_params["dialogue_id"])

        async def load(session: Any, page: Page):
            if ident is None:
                return self.missing(page)
            board = await board_dialogues.dialogue_board(
                session,
                dialogue_id=ident,
                today=page.today,
                topic=request.query_params.get("chu-de") or None,
                agency=request.query_params.get("co-quan") or None,
                state=_choice(request, "tinh-trang", STATES),
                page=_page_number(request),
            )
            if board is None:
                return self.missing(page)
            topic = _choice(request, "chu-de", board.topics)
            agency = _choice(request, "co-quan", board.agencies)
            state = _choice(request, "tinh-trang", STATES)
            d = board.dialogue
            return self.html(
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

        return await self.serve(request, load)

    async def agency(self, request: Request) -> Response:
        code = request.path_params["code"]

        async def load(session: Any, page: Page):
            board = await board_agencies.agency_board(
                session,
                code=code,
                today=page.today,
                section=_choice(request, "muc", store.SECTIONS),
                page=_page_number(request),
            )
            if board is None:
                return self.missing(page)
            return self.html(page, "board/agency.html", board=board, code=code)

        return await self.serve(request, load)

    async def feed(self, request: Request, kind: str) -> Response:
        number = _page_number(request)

        async def load(session: Any, page: Page):
            entries, older = await board_feed.feed_entries(session, page=number)

            def make() -> tuple[bytes, datetime | None, int]:
                if kind == "atom":
                    return _atom_feed(page, entries, number, older), None, 200
                body = json.dumps(
                    _json_feed(page, entries, number, older), ensure_ascii=False, indent=1
                )
                return body.encode("utf-8"), None, 200

            return make

        return await self.serve(request, load, kind="atom" if kind == "atom" else "json_feed")

    async def json_feed(self, request: Request) -> Response:
        return await self.feed(request, "json")

    async def atom_feed(self, request: Request) -> Response:
        return await self.feed(request, "atom")

    async def sitemap(self, request: Request) -> Response:
        async def load(session: Any, page: Page):
            dialogues = await board_dialogues.public_dialogues(session)
            agencies = await board_agencies.agencies(session)
            paths = ["/"]
            paths += [f"/doi-thoai/{d.id}" for d in dialogues]
            paths += [f"/co-quan/{a.code}" for a in agencies]
            paths += [f"/tham-van/{c.id}" for c in await public_consultations(session)]
            return lambda: (_sitemap(page, paths), None, 200)

        return await self.serve(request, load, kind="xml")

    async def robots(self, request: Request) -> Response:
        page = Page(request, self.runtime, {})
        body = "User-agent: *\nAllow: /\nDisallow: /telegram\nDisallow: /zalo\n"
        if page.base:  # the protocol wants an absolute address: none without a known origin
            body += f"Sitemap: {page.base}{page.prefix}/sitemap.xml\n"
        return _respond(request, body.encode("utf-8"), kind="text", lang=page.lang)

    async def stylesheet(self, request: Request) -> Response:
        body, _version = _css()
        lang = self.runtime.settings.default_locale
        return _respond(request, body, kind="css", lang=lang, max_age=CSS_MAX_AGE)


def board_routes(runtime: Runtime, cache: PageCache | None = None) -> list[BaseRoute]:
    """The board's pages, feeds, sitemap, robots.txt and stylesheet (GET, and HEAD).

    Every page reads in short read-only transactions (on SQLite they take no lock, so a reader
    never makes the bot wait) and is rendered once per version of the data (`PageCache`)."""
    pages = _BoardPages(runtime, cache)
    from bot.board_consultation import consultation_routes

    return [
        *consultation_routes(runtime),
        Route("/", pages.home, methods=["GET"]),
        Route("/doi-thoai/{dialogue_id}", pages.dialogue, methods=["GET"]),
        Route("/co-quan/{code}", pages.agency, methods=["GET"]),
        Route("/feed.json", pages.json_feed, methods=["GET"]),
        Route("/feed.atom", pages.atom_feed, methods=["GET"]),
        Route("/sitemap.xml", pages.sitemap, methods=["GET"]),
        Route("/robots.txt", pages.robots, methods=["GET"]),
        Route("/static/board.css", pages.stylesheet, methods=["GET"]),
    ]


def _taking_questions(dialogue: Dialogue, now: datetime) -> bool:
    if dialogue.kind == "general":
        return True
    if dialogue.status != "planned" or dialogue.starts_at is None or dialogue.starts_at <= now:
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
