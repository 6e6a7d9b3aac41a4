"""The board's page of a consultation (/tham-van/<id>): its plan, how to answer (deep link and
QR code while it is open), its results (no group under 5 responses shown apart) and what was
adopted of the opinions, and why not; its Atom feed of decisions (/tham-van/<id>/feed.atom) for
a newsroom or a ward's portal. A draft is not public (404)."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot import board_page
from bot.consultation_results import GROUP_NAMES, MIN_SHOWN, compute, percent, points
from handlers.consultation import start_code
from handlers.decisions import DECISION_NAMES
from storage import consultations as store
from storage.db import reading

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.runtime import Runtime
    from storage.models import Consultation


def consultation_routes(runtime: Runtime) -> list[BaseRoute]:
    async def consultation(request: Request) -> Response:
        return await _consultation_page(runtime, request)

    async def feed(request: Request) -> Response:
        return await _consultation_feed(runtime, request)

    return [
        Route("/tham-van/{consultation_id}", consultation, methods=["GET"]),
        Route("/tham-van/{consultation_id}/feed.atom", feed, methods=["GET"]),
    ]


async def _consultation_page(runtime: Runtime, request: Request) -> Response:
    """The consultation's page: its plan, how to answer, its results and its decisions."""
    async with reading(runtime.sessions) as session:
        page, found = await _published(runtime, session, request)
        if found is None:
            return board_page._not_found(page)
        responses = await store.submitted_responses(session, consultation_id=found.id)
        themes = await store.themes(session, consultation_id=found.id)
        counts = await store.theme_counts(session, consultation_id=found.id)
    t, lang = page.t, page.lang
    results = compute(found.questions, found.targets, responses)
    open_now = store.is_open(found, page.now)
    link = f"{page.bot_link}?start={start_code(found.id)}" if page.bot_link and open_now else None
    groups = _groups(results, t)
    questions = _questions(results, t, lang)
    decisions = _decisions(themes, counts, t)
    return board_page._render(
        page,
        "board/consultation.html",
        consultation=found,
        open_now=open_now,
        link=link,
        link_qr=Markup(board_page._qr_svg(link)) if link else None,
        total=results.total,
        target=results.target,
        margin=points(results.margin, lang),
        groups=groups,
        questions=questions,
        decisions=decisions,
        min_shown=MIN_SHOWN,
        feed_url=page.url(f"/tham-van/{found.id}/feed.atom"),
    )


async def _consultation_feed(runtime: Runtime, request: Request) -> Response:
    """The consultation's Atom feed of decisions."""
    async with reading(runtime.sessions) as session:
        page, found = await _published(runtime, session, request)
        if found is None:
            return board_page._not_found(page)
        themes = [
            th
            for th in await store.themes(session, consultation_id=found.id)
            if th.decision and th.decided_on
        ]
        counts = await store.theme_counts(session, consultation_id=found.id)
    return board_page._respond(
        request, _atom(page, found, themes, counts), kind="atom", lang=page.lang
    )


async def _published(
    runtime: Runtime, session: AsyncSession, request: Request
) -> tuple[board_page.Page, Consultation | None]:
    """The request's page, and the consultation its path names if the board shows it (a draft
    is not public)."""
    page = board_page.Page(request, runtime, {})
    ident = board_page._int(request.path_params["consultation_id"])
    if ident is None:
        return page, None
    found = await store.get_consultation(session, consultation_id=ident)
    return page, (None if found is None or found.status == "draft" else found)


def _groups(results: Any, t: Any) -> list[dict[str, Any]]:
    """The sample by group against its target (a group under MIN_SHOWN is not counted apart)."""
    return [
        {
            "name": t._(GROUP_NAMES.get(g.group, g.group)),
            "count": str(g.count) if g.shown else t._("under {min}").format(min=MIN_SHOWN),
            "target": g.target,
            "short": g.short,
        }
        for g in results.groups
    ]


def _questions(results: Any, t: Any, lang: str) -> list[dict[str, Any]]:
    """Each question's results: its choices' shares with their margins, its mean."""
    return [
        {
            "text": q.text,
            "answered": q.answered,
            "margin": points(q.margin, lang),
            "choices": [
                (c.label, c.count, percent(c.share, lang), points(c.margin, lang))
                for c in q.choices
            ],
            "mean": t.number(round(q.mean, 2)) if q.mean is not None else None,
            "texts": len(q.texts),
        }
        for q in results.questions
    ]


def _decisions(themes: list[Any], counts: dict[int | None, int], t: Any) -> list[dict[str, Any]]:
    """What was adopted of each theme's opinions, and why not."""
    return [
        {
            "name": th.name,
            "count": counts.get(th.id, 0),
            "decision": t._(DECISION_NAMES[th.decision]) if th.decision else None,
            "code": th.decision or "pending",
            "change": th.change,
            "reason": th.reason,
        }
        for th in themes
    ]


def _atom(page: Any, consultation: Any, themes: list, counts: dict) -> bytes:
    """Atom 1.0: one entry per decided theme, the newest decision first."""
    from bot.board_feeds import ATOM, TAG_YEAR, _atom_time

    t = page.t
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    def when(theme: Any) -> datetime:
        return datetime.combine(theme.decided_on, time(12), tzinfo=page.t.zone)

    themes = sorted(themes, key=lambda th: (th.decided_on, th.id), reverse=True)
    address = page.absolute(f"/tham-van/{consultation.id}")
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": page.lang})
    sub(root, "id", f"tag:{page.host},{TAG_YEAR}:doithoai/tham-van/{consultation.id}")
    sub(root, "title", t._("What was adopted of the opinions") + ": " + consultation.title)
    updated = when(themes[0]) if themes else consultation.opened_at or consultation.created_at
    sub(root, "updated", _atom_time(updated))
    author = sub(root, "author")
    sub(author, "name", t._("Dialogue board"))
    sub(root, "link", rel="alternate", type="text/html", href=address)
    for theme in themes:
        entry = sub(root, "entry")
        sub(
            entry,
            "id",
            f"tag:{page.host},{TAG_YEAR}:doithoai/tham-van/{consultation.id}/"
            f"{theme.id}-{theme.decision}-{theme.decided_on.isoformat()}",
        )
        decision = t._(DECISION_NAMES[theme.decision])
        sub(entry, "title", f"{theme.name}: {decision}")
        sub(entry, "updated", _atom_time(when(theme)))
        sub(entry, "link", rel="alternate", type="text/html", href=address + "#tiep-thu")
        lines = [
            t.ngettext("{count} opinion", "{count} opinions", counts.get(theme.id, 0)).format(
                count=counts.get(theme.id, 0)
            )
        ]
        if theme.change:
            lines.append(t._("What changes: {change}").format(change=theme.change))
        if theme.reason:
            lines.append(t._("Why: {reason}").format(reason=theme.reason))
        sub(entry, "content", "\n\n".join(lines), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
