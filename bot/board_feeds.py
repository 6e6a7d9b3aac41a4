"""The board's feeds (JSON Feed, Atom) and sitemap, rendered from the entries of
storage/board_feed.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from bot.board_page import Page
from bot.core.i18n import SUPPORTED
from storage.board import FeedEntry

# The year in the feeds' tag: ids (tag:host,YEAR:doithoai/...) never change once given.
TAG_YEAR = 2026
FEED_EPOCH = datetime(TAG_YEAR, 1, 1, tzinfo=UTC)  # an empty feed's `updated`
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _atom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
