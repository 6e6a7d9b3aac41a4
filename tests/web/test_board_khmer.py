"""The public board in Khmer (?lang=km): the same pages in Khmer, with Babel's Khmer dates, a
language switch that names each language in itself, and a stylesheet that lists Khmer fonts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import lxml.html
import pytest

from bot.core.i18n import Translator
from tests.web import board_support
from tests.web.board_support import Story
from tests.web.test_board import get, text_of

board_runtime = board_support.board_runtime
story = board_support.story
board_app = board_support.board_app

km = Translator("km")


@pytest.fixture
async def client(board_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=board_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as session:
        yield session


def _switch(response) -> dict[str, str]:
    links = lxml.html.fromstring(response.text).xpath(
        '//nav[contains(concat(" ", @class, " "), " lang ")]/a'
    )
    return {a.text_content().strip(): a.get("href") for a in links}


async def test_the_home_page_in_khmer_reads_in_khmer_and_keeps_to_it(client, story: Story):
    response = await get(client, "/", lang="km")
    text = text_of(response)

    assert response.headers["content-language"] == "km"
    assert '<html lang="km">' in response.text
    assert km._("Dialogue board") in text and km._("Upcoming dialogues") in text
    assert "08:30, ថ្ងៃព្រហស្បតិ៍ 26/11/2026" in text
    assert km._("Health and health insurance") in text
    assert km._("The names of the people who ask are never published.") in text
    # Its links stay in Khmer; the switch offers the two others, each in its own words.
    dialogue = lxml.html.fromstring(response.text).xpath('//*[@id="sap-toi"]//h3/a')[0]
    assert dialogue.get("href") == f"/doi-thoai/{story.upcoming}?lang=km"
    assert _switch(response) == {"Tiếng Việt": "/", "English": "/?lang=en"}


async def test_vietnamese_and_english_pages_offer_khmer_in_khmer(client, story: Story):
    assert _switch(await get(client, "/")) == {"English": "/?lang=en", "ភាសាខ្មែរ": "/?lang=km"}
    english = await get(client, "/", lang="en")
    assert _switch(english) == {"Tiếng Việt": "/", "ភាសាខ្មែរ": "/?lang=km"}
    alternates = lxml.html.fromstring(english.text).xpath('//link[@rel="alternate"][@hreflang]')
    assert {a.get("hreflang"): a.get("href") for a in alternates} == {
        "vi": "/",
        "en": "/?lang=en",
        "km": "/?lang=km",
    }


async def test_the_stylesheet_lists_khmer_fonts_after_the_latin_ones(client, story: Story):
    home = await get(client, "/", lang="km")
    href = lxml.html.fromstring(home.text).xpath('//link[@rel="stylesheet"]')[0].get("href")
    css = (await get(client, href)).text
    body = css[css.index("body {") : css.index("}", css.index("body {"))]
    assert body.index("Arial") < body.index('"Noto Sans Khmer"') < body.index('"Khmer OS System"')
    assert ":lang(km)" in css
