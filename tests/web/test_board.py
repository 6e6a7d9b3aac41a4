"""The public board as a reader, a journalist or a feed reader gets it: what each page shows,
the filters, the figures, the overdue marks, the feeds and the sitemap, the headers a public
site sends, and that nothing anywhere names or points to a citizen."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import lxml.etree
import lxml.html
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.board import board_routes, not_found_handler
from bot.core.i18n import Translator
from bot.runtime import Runtime
from storage import answers, staff
from storage.models import Question
from tests.web import board_support
from tests.web.board_support import BOT, Story

# The fixtures of board_support, for the tests here.
board_runtime = board_support.board_runtime
story = board_support.story
board_app = board_support.board_app

vi = Translator("vi")
en = Translator("en")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(board_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=board_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as session:
        yield session


def text_of(response: httpx.Response) -> str:
    """What a person reads on the page: the text, without markup."""
    return " ".join(lxml.html.fromstring(response.text).text_content().split())


def tally(response: httpx.Response) -> dict[str, str]:
    """The figures at the top of a page: label -> number."""
    page = lxml.html.fromstring(response.text)
    block = page.xpath('.//dl[contains(concat(" ", @class, " "), " tally ")]')[0]
    return {
        " ".join(div.xpath("dt")[0].text_content().split()): div.xpath("dd")[0].text_content()
        for div in block.xpath("div")
    }


def article(response: httpx.Response, anchor: str) -> str:
    page = lxml.html.fromstring(response.text)
    found = page.get_element_by_id(anchor)
    return " ".join(found.text_content().split())


async def get(client: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    # httpx replaces a link's own query with `params` when given one, even an empty one.
    response = await client.get(path, params=params) if params else await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response


# The home page


async def test_the_home_page_shows_the_upcoming_dialogue_in_vietnamese_and_how_to_ask(
    client, story: Story
):
    response = await get(client, "/")
    text = text_of(response)

    assert response.headers["content-language"] == "vi"
    assert '<html lang="vi">' in response.text
    assert "Đối thoại về bảo hiểm y tế" in text
    assert "08:30, Thứ Năm, 26/11/2026" in text
    assert "Nhà văn hóa khóm 3" in text
    assert vi._("Health and health insurance") in text
    assert "17:00, Thứ Tư, 25/11/2026" in text  # questions received until
    # How to ask: the bot's link and its QR code, drawn in the page (no image to load).
    assert f"https://t.me/{BOT}" in text
    assert lxml.html.fromstring(response.text).xpath('//figure[@class="qr"]/svg//path')
    # A cancelled dialogue says so in words.
    assert "Đối thoại về đất ở (hoãn)" in text
    cancelled = lxml.html.fromstring(response.text).xpath(
        '//article[contains(concat(" ", @class, " "), " cancelled ")]'
    )[0]
    assert "Đã huỷ" in cancelled.text_content()


async def test_the_home_page_gives_the_results_of_the_dialogue_that_took_place(
    client, story: Story
):
    response = await get(client, "/")
    page = lxml.html.fromstring(response.text)
    results = page.get_element_by_id("ket-qua")

    assert "Đối thoại về giảm nghèo năm 2026" in results.text_content()
    assert "Thứ Tư, 21/10/2026" in results.text_content()
    figures = {
        " ".join(div.xpath("dt")[0].text_content().split()): div.xpath("dd")[0].text
        for div in results.xpath('.//dl[contains(concat(" ", @class, " "), " tally ")]/div')
    }
    assert figures[vi._("Questions asked")] == "7"
    assert figures["Đã trả lời"] == "4"
    # Its link leads to its page.
    link = results.xpath(".//h3/a")[0].get("href")
    assert link == f"/doi-thoai/{story.past}"


# A dialogue's page


async def test_a_dialogue_shows_its_published_questions_with_answers_commitments_and_deadlines(
    client, story: Story
):
    response = await get(client, f"/doi-thoai/{story.past}")
    text = text_of(response)

    for label in ("late", "kept", "waiting_late", "waiting", "reopened"):
        assert story.texts[label] in text, label
        assert f"#{story.tickets[label]}" in text
    for label in ("late", "kept", "sensitive", "reopened"):
        assert story.answers[label] in text, label
    for label in ("late", "kept", "general"):
        assert story.commitments[label] in text, label
    # The commitment's deadline, its progress and who is responsible.
    late = article(response, f"q-{story.tickets['late'].lower()}")
    assert vi._("Deadline: {date}").format(date="Thứ Ba, 10/11/2026") in late
    assert "Đã duyệt 8 hộ, còn 4 hộ chờ hồ sơ." in late
    assert "Tổ công tác giảm nghèo" in late
    # Three people asked it: the asker, a follower, and the asker of the duplicate joined to it.
    assert vi.ngettext("Asked by {n} person", "Asked by {n} people", 3).format(n=3) in late
    # Topic and agency, in Vietnamese.
    assert vi._("Poverty reduction, livelihoods, vocational training") in late
    assert vi._("Labour, Invalids and Social Affairs Office") in late
    # A citizen is "a citizen", never a name.
    assert vi._("A citizen asked:") in late
    # The general intake's question has its own page.
    general = text_of(await get(client, f"/doi-thoai/{story.general}"))
    assert story.texts["general"] in general and story.answers["general"] in general


async def test_the_figures_at_the_top_count_questions_answers_and_commitments_kept_on_time(
    client, story: Story
):
    figures = tally(await get(client, f"/doi-thoai/{story.past}"))

    # 7 published (2 sensitive among them), 4 answered, 3 commitments of which 1 kept on
    # time, and 2 overdue: a question past its deadline and a commitment past its own.
    assert figures == {
        vi._("Questions asked"): "7",
        "Đã trả lời": "4",
        "Cam kết": "3",
        vi._("Commitments kept on time"): "1",
        "⚠ Quá hạn": "2",
    }


async def test_overdue_questions_and_commitments_say_so_in_words_not_only_colour(
    client, story: Story
):
    response = await get(client, f"/doi-thoai/{story.past}")
    late = article(response, f"q-{story.tickets['late'].lower()}")
    waiting_late = article(response, f"q-{story.tickets['waiting_late'].lower()}")
    waiting = article(response, f"q-{story.tickets['waiting'].lower()}")
    kept = article(response, f"q-{story.tickets['kept'].lower()}")

    assert "⚠ Quá hạn" in late  # its commitment was due on 10/11
    assert "⚠ Quá hạn" in waiting_late  # no answer, due on 15/11
    assert "⚠ " + vi._("Answer due by {date}").format(date="Chủ Nhật, 15/11/2026") in waiting_late
    assert "Quá hạn" not in waiting  # due on 05/12
    assert "○ Chờ trả lời" in waiting
    assert "Quá hạn" not in kept
    assert "✔ " + vi._("Fulfilled on time") in kept
    assert vi._("Fulfilled on {date}.").format(date="Thứ Bảy, 14/11/2026") in kept
    reopened = article(response, f"q-{story.tickets['reopened'].lower()}")
    assert vi._("Not satisfied: being looked at again") in reopened


async def test_the_filters_by_status_topic_and_agency_narrow_the_questions(client, story: Story):
    path = f"/doi-thoai/{story.past}"

    def shown(response: httpx.Response) -> set[str]:
        text = text_of(response)
        return {label for label, question in story.texts.items() if question in text}

    overdue = await get(client, path, **{"tinh-trang": "overdue"})
    assert shown(overdue) == {"late", "waiting_late"}
    credit = await get(client, path, **{"chu-de": "tindung"})
    assert shown(credit) == {"kept", "waiting"}
    # A sensitive question has no public topic: a topic filter leaves its answer out too.
    assert story.answers["sensitive"] not in text_of(credit)
    bank = await get(client, path, **{"co-quan": "nhcsxh", "tinh-trang": "waiting"})
    assert shown(bank) == {"waiting"}
    assert vi._("Showing {shown} of {total} questions.").format(shown=1, total=6) in text_of(bank)
    ward = await get(client, path, **{"co-quan": "ubnd"})
    assert shown(ward) == {"waiting_late", "reopened"}
    assert story.answers["sensitive"] in text_of(ward)
    nothing = await get(client, path, **{"chu-de": "giamngheo", "tinh-trang": "fulfilled"})
    assert shown(nothing) == set()
    assert vi._("No question matches these filters.") in text_of(nothing)


async def test_the_status_links_on_the_page_are_the_filters(client, story: Story):
    response = await get(client, f"/doi-thoai/{story.past}")
    links = {
        " ".join(a.text_content().split()): a.get("href")
        for a in lxml.html.fromstring(response.text).xpath(
            '//nav[contains(concat(" ", @class, " "), " filters ")]/p[contains(concat(" ", @class, " "), " states ")]/a'
        )
    }

    assert links["○ Chờ trả lời (1)"] == f"/doi-thoai/{story.past}?tinh-trang=waiting"
    followed = await get(client, links["⚠ Quá hạn (2)"])
    assert story.texts["waiting_late"] in text_of(followed)
    assert story.texts["kept"] not in text_of(followed)
    # The form's choices are the topics and agencies of the questions shown.
    form = lxml.html.fromstring(response.text).xpath(
        '//nav[contains(concat(" ", @class, " "), " filters ")]/form'
    )[0]
    assert form.get("method") == "get"
    topics = [o.get("value") for o in form.xpath('.//select[@name="chu-de"]/option')]
    assert topics == ["", "giamngheo", "tindung"]


async def test_filters_that_make_no_sense_are_ignored(client, story: Story):
    path = f"/doi-thoai/{story.past}"
    everything = text_of(await get(client, path))

    for params in (
        {"tinh-trang": "<script>alert(1)</script>"},
        {"chu-de": "khong-co"},
        {"co-quan": "x" * 500},
        {"lang": "fr"},
    ):
        response = await get(client, path, **params)
        assert text_of(response) == everything, params
        assert "<script>" not in response.text


async def test_sensitive_questions_are_shown_only_as_their_answer(client, story: Story):
    response = await get(client, f"/doi-thoai/{story.past}")
    text = text_of(response)

    assert story.answers["sensitive"] in text
    assert (
        vi._(
            "This question is kept private to protect the person who asked it; here is its answer."
        )
        in text
    )
    assert story.texts["sensitive"] not in text
    assert story.tickets["sensitive"] not in text
    # The one without an answer is not on the page at all, only counted.
    assert story.texts["sensitive_unanswered"] not in text
    assert story.tickets["sensitive_unanswered"] not in text
    note = vi.ngettext(
        "{n} question is not shown, to protect the person who asked it.",
        "{n} questions are not shown, to protect the people who asked them.",
        1,
    ).format(n=1)
    assert note in text


async def test_a_dialogue_that_is_still_taking_questions_says_where_to_send_them(
    client, story: Story
):
    text = text_of(await get(client, f"/doi-thoai/{story.upcoming}"))

    assert "08:30, Thứ Năm, 26/11/2026" in text
    assert vi._("To send a question, open the bot:") in text
    assert f"https://t.me/{BOT}" in text
    assert vi._("No question has been published yet.") in text
    cancelled = text_of(await get(client, f"/doi-thoai/{story.cancelled}"))
    assert vi._("This dialogue has been cancelled.") in cancelled
    assert vi._("To send a question, open the bot:") not in cancelled


# An agency's page


async def test_an_agency_page_sorts_its_commitments_into_overdue_in_progress_and_fulfilled(
    client, story: Story
):
    def section(response: httpx.Response, key: str) -> str:
        return " ".join(
            lxml.html.fromstring(response.text).get_element_by_id(key).text_content().split()
        )

    labour = await get(client, "/co-quan/ldtbxh")
    assert vi._("Labour, Invalids and Social Affairs Office") in text_of(labour)
    assert story.commitments["late"] in section(labour, "overdue")
    assert "Đối thoại về giảm nghèo năm 2026" in section(labour, "overdue")
    assert story.texts["late"] in section(labour, "overdue")

    bank = await get(client, "/co-quan/nhcsxh")
    assert story.commitments["kept"] in section(bank, "fulfilled")
    assert vi._("Fulfilled on time") in section(bank, "fulfilled")
    assert story.commitments["kept"] not in section(bank, "overdue")

    ward = await get(client, "/co-quan/ubnd")
    assert story.commitments["general"] in section(ward, "in_progress")
    figures = tally(ward)
    assert figures[vi._("Questions to answer")] == "4"
    assert figures["⚠ " + vi._("Questions overdue")] == "1"
    assert story.texts["sensitive"] not in text_of(ward)


# Errors, headers and caching


@pytest.mark.parametrize(
    "path",
    ["/doi-thoai/9999", "/doi-thoai/abc", "/doi-thoai/-1", "/co-quan/khong-co", "/khong-co-trang"],
)
async def test_an_unknown_page_is_a_404_page_in_the_readers_language(client, story: Story, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert vi._("Page not found") in text_of(response)

    english = await client.get(path, params={"lang": "en"})
    assert english.status_code == 404
    assert english.headers["content-language"] == "en"
    assert "Page not found" in text_of(english)


async def test_pages_can_be_cached_briefly_and_a_conditional_get_gets_304(
    client, story: Story, board_runtime: Runtime
):
    path = f"/doi-thoai/{story.past}"
    first = await get(client, path)
    etag = first.headers["etag"]

    assert first.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=600"
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": f"W/{etag}"})).status_code == 304

    # An answer is published: the page changes, and so does its tag.
    async with board_runtime.sessions() as session, session.begin():
        question = await session.get(Question, await _question_id(session, story, "waiting"))
        official, _ = await staff.invite(
            session,
            role="official",
            name="Anh Tâm",
            agency="nhcsxh",
            now=board_runtime.clock(),
            valid_for=timedelta(days=7),
        )
        await answers.add_answer(
            session,
            question=question,
            staff=official,
            text="Được hỗ trợ 70% mệnh giá thẻ.",
            now=board_runtime.clock(),
            today=date(2026, 11, 20),
        )
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "Được hỗ trợ 70% mệnh giá thẻ." in text_of(changed)


@pytest.mark.parametrize(
    "path", ["/", "/doi-thoai/{past}", "/co-quan/ubnd", "/feed.json", "/feed.atom", "/sitemap.xml"]
)
async def test_head_gives_the_headers_of_get_without_the_body(client, story: Story, path):
    path = path.format(past=story.past)
    got = await get(client, path)
    head = await client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    for header in ("etag", "content-type", "content-language", "cache-control", "content-length"):
        assert head.headers[header] == got.headers[header], header


async def test_the_english_switch_gives_the_same_page_in_english_and_keeps_to_it(
    client, story: Story
):
    vietnamese = await get(client, "/")
    switch = lxml.html.fromstring(vietnamese.text).xpath(
        '//nav[contains(concat(" ", @class, " "), " lang ")]/a'
    )[0]
    assert switch.text_content().strip() == "English"

    english = await get(client, switch.get("href"))
    text = text_of(english)
    assert english.headers["content-language"] == "en"
    assert '<html lang="en">' in english.text
    assert "08:30, Thursday 26 November 2026" in text
    assert "Upcoming dialogues" in text
    # Its links stay in English, and its own switch goes back.
    dialogue = lxml.html.fromstring(english.text).xpath('//*[@id="sap-toi"]//h3/a')[0].get("href")
    assert dialogue == f"/doi-thoai/{story.upcoming}?lang=en"
    back = lxml.html.fromstring(english.text).xpath(
        '//nav[contains(concat(" ", @class, " "), " lang ")]/a'
    )[0]
    assert back.text_content().strip() == "Tiếng Việt" and back.get("href") == "/"
    filtered = await get(client, f"/doi-thoai/{story.past}", **{"tinh-trang": "overdue"})
    to_english = (
        lxml.html.fromstring(filtered.text)
        .xpath('//nav[contains(concat(" ", @class, " "), " lang ")]/a')[0]
        .get("href")
    )
    assert to_english == f"/doi-thoai/{story.past}?tinh-trang=overdue&lang=en"
    assert "Overdue" in text_of(await get(client, to_english))


async def test_the_stylesheet_is_small_and_cached_long(client, story: Story):
    home = await get(client, "/")
    href = lxml.html.fromstring(home.text).xpath('//link[@rel="stylesheet"]')[0].get("href")
    css = await get(client, href)

    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert len(css.content) < 8000
    assert "@media print" in css.text
    assert int(css.headers["cache-control"].split("max-age=")[1]) >= 86400
    assert "<script" not in home.text  # nothing needs JavaScript


# Feeds, sitemap, robots


async def test_the_json_feed_is_a_json_feed_1_1_of_answers_and_commitment_updates(
    client, story: Story
):
    response = await get(client, "/feed.json")
    feed = json.loads(response.text)

    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["home_page_url"] == "http://board.test/"
    assert feed["feed_url"] == "http://board.test/feed.json"
    items = feed["items"]
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert isinstance(item["id"], str) and item["id"]
        assert item["url"].startswith("http://board.test/doi-thoai/")
        assert item["content_text"] and item["title"]
        datetime.fromisoformat(item["date_published"])
    published = [datetime.fromisoformat(item["date_published"]) for item in items]
    assert published == sorted(published, reverse=True)
    kinds = {item["tags"][0] for item in items}
    assert kinds == {"answer", "commitment_made", "commitment_updated", "commitment_fulfilled"}
    # Five answers published (the sensitive one's with its answer only) and three commitments
    # made, one updated, one fulfilled.
    assert len(items) == 5 + 3 + 2
    contents = " ".join(item["content_text"] for item in items)
    assert story.answers["sensitive"] in contents
    assert "Đã duyệt 8 hộ, còn 4 hộ chờ hồ sơ." in contents


async def test_feed_entries_keep_their_ids_when_new_ones_come(
    client, story: Story, board_runtime: Runtime
):
    before = {item["id"]: item for item in (await get(client, "/feed.json")).json()["items"]}
    async with board_runtime.sessions() as session, session.begin():
        question = await session.get(Question, await _question_id(session, story, "waiting"))
        official, _ = await staff.invite(
            session,
            role="official",
            name="Anh Tâm",
            agency="nhcsxh",
            now=board_runtime.clock(),
            valid_for=timedelta(days=7),
        )
        await answers.add_answer(
            session,
            question=question,
            staff=official,
            text="Được hỗ trợ 70% mệnh giá thẻ.",
            now=board_runtime.clock(),
            today=date(2026, 11, 20),
        )
    after = (await get(client, "/feed.json")).json()["items"]

    assert "Được hỗ trợ 70% mệnh giá thẻ." in after[0]["content_text"]  # newest first
    assert after[0]["id"] not in before
    for item in after[1:]:
        assert before[item["id"]]["date_modified"] == item["date_modified"]


async def test_the_atom_feed_parses_and_has_what_rfc_4287_requires(client, story: Story):
    response = await get(client, "/feed.atom")
    feed = lxml.etree.fromstring(response.content)
    json_ids = [item["id"] for item in (await get(client, "/feed.json")).json()["items"]]

    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{required}")) == 1, required
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    self_link = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link[0].get("href") == "http://board.test/feed.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == json_ids
    times = []
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{required}")) == 1, required
        updated = entry.find(f"{ATOM}updated").text
        assert updated.endswith("Z")
        times.append(datetime.fromisoformat(updated))
        assert entry.find(f"{ATOM}link").get("rel") == "alternate"
        assert entry.find(f"{ATOM}content").get("type") == "text"
    assert times == sorted(times, reverse=True)
    assert feed.find(f"{ATOM}updated").text == entries[0].find(f"{ATOM}updated").text


async def test_the_sitemap_lists_every_page_and_robots_points_to_it(client, story: Story):
    response = await get(client, "/sitemap.xml")
    sitemap = lxml.etree.fromstring(response.content)
    locations = {loc.text for loc in sitemap.iter(f"{SITEMAP}loc")}

    assert sitemap.tag == f"{SITEMAP}urlset"
    base = "http://board.test"
    expected = {f"{base}/"}
    expected |= {
        f"{base}/doi-thoai/{i}"
        for i in (story.past, story.upcoming, story.cancelled, story.general)
    }
    expected |= {
        f"{base}/co-quan/{code}"
        for code in ("ldtbxh", "kinhte", "yte", "nhcsxh", "gddt", "bhxh", "ubnd")
    }
    assert locations == expected
    for location in locations:
        assert (await client.get(location)).status_code == 200, location
    robots = await get(client, "/robots.txt")
    assert f"Sitemap: {base}/sitemap.xml" in robots.text


async def test_the_board_mounts_into_another_app_beside_its_routes(board_runtime: Runtime, story):
    async def healthz(_request):
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/healthz", healthz)] + board_routes(board_runtime),
        exception_handlers={404: not_found_handler(board_runtime)},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as client:
        assert (await client.get("/healthz")).text == "ok"
        assert story.texts["late"] in text_of(await get(client, f"/doi-thoai/{story.past}"))
        missing = await client.get("/khong-co")
        assert missing.status_code == 404 and vi._("Page not found") in text_of(missing)


# Anonymity


async def _every_page(client: httpx.AsyncClient, story: Story) -> list[httpx.Response]:
    """Every page, filter, feed and file of the board, in both languages."""
    paths = ["/", "/feed.json", "/feed.atom", "/sitemap.xml", "/robots.txt", "/khong-co"]
    for ident in (story.past, story.upcoming, story.cancelled, story.general):
        paths.append(f"/doi-thoai/{ident}")
    for code in ("ldtbxh", "kinhte", "yte", "nhcsxh", "gddt", "bhxh", "ubnd"):
        paths.append(f"/co-quan/{code}")
    responses = []
    seen = set()
    for lang in ("vi", "en"):
        queue = [f"{p}?lang={lang}" for p in paths]
        while queue:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await client.get(path)
            responses.append(response)
            if response.headers["content-type"].startswith("text/html"):
                # Every link of the board found on the page: the filters among them.
                for link in lxml.html.fromstring(response.text).xpath(
                    '//a[starts-with(@href, "/")]'
                ):
                    queue.append(link.get("href"))
    return responses


async def test_no_page_or_feed_names_or_points_to_anyone_who_asked_or_followed(
    client, story: Story
):
    responses = await _every_page(client, story)
    assert len(responses) > 40

    for response in responses:
        body = response.text
        for secret in story.secrets():
            assert secret not in body, (str(response.url), secret)
        # Sensitive, rejected, new and merged questions: neither text nor ticket.
        for hidden in story.hidden():
            assert hidden not in body, (str(response.url), hidden)
        for label in ("sensitive", "sensitive_unanswered", "rejected", "new", "merged"):
            assert story.tickets[label] not in body, (str(response.url), label)
        assert "năm nào cũng hứa vậy" not in body  # an unsatisfied asker's reason
    # The feeds too, once their text is decoded.
    feed = json.loads(next(r for r in responses if r.url.path == "/feed.json").text)
    decoded = json.dumps(feed, ensure_ascii=False)
    for secret in story.secrets():
        assert secret not in decoded


async def _question_id(session, story: Story, label: str) -> str:
    return await session.scalar(select(Question.id).where(Question.ticket == story.tickets[label]))


# `doithoai web`

WEB_COMMAND = (
    "import typer; from bot.cli.web import web; app = typer.Typer(); app.command()(web); app()"
)


def _web_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env["DOITHOAI_DATABASE_URL"] = database_url
    env["DOITHOAI_SECRET_KEY"] = "k" * 40
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_command_serves_the_board_until_interrupted(sqlite_url: str):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", WEB_COMMAND, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=_web_env(sqlite_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200
        assert home.headers["content-language"] == "vi"
        assert httpx.get(f"http://127.0.0.1:{port}/doi-thoai/9999", timeout=10).status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def test_the_web_command_says_in_one_line_that_its_port_is_taken(sqlite_url: str):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", WEB_COMMAND, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=_web_env(sqlite_url),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"127.0.0.1:{port}" in result.stderr
