"""The board's absolute links come from DOITHOAI_PUBLIC_URL (else the webhook URL, else they
are relative): a request's Host header, which anyone can set, never appears in a page, a feed,
the sitemap or robots.txt, all served with `Cache-Control: public` (issue 12, item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import lxml.etree
import pytest

from bot.board import create_board_app
from bot.core.config import SettingsError, load_settings
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.web.board_support import BOT, build_story
from tests.web.test_board import _every_page

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
EVIL = "evil.example"


async def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_board_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{EVIL}", headers={"Host": EVIL})


@pytest.fixture(params=["no origin", "public url", "webhook url"])
async def configured(request, database_url: str, clock) -> AsyncIterator[tuple[str, Runtime]]:
    overrides = {
        "no origin": {},
        "public url": {"public_url": "https://bang.phuong7.example/"},
        "webhook url": {"webhook_url": "https://bot.phuong7.example"},
    }[request.param]
    runtime = Runtime(
        make_settings(database_url, telegram_bot_username=BOT, **overrides), clock=clock
    )
    yield request.param, runtime
    await runtime.close()


async def test_a_forged_host_header_appears_in_no_response(configured):
    kind, runtime = configured
    story = await build_story(runtime)
    async with await _client(runtime) as client:
        responses = await _every_page(client, story)
        responses += [await client.get(p) for p in ("/robots.txt", "/sitemap.xml")]
    assert len(responses) > 20
    for response in responses:
        assert EVIL not in response.text, (kind, response.url)
        assert EVIL not in str(response.headers), (kind, response.url)

    async with await _client(runtime) as client:
        sitemap = lxml.etree.fromstring((await client.get("/sitemap.xml")).content)
        feed = (await client.get("/feed.json")).json()
        robots = (await client.get("/robots.txt")).text
    locations = [loc.text for loc in sitemap.iter(f"{SITEMAP}loc")]
    base = {
        "no origin": "",
        "public url": "https://bang.phuong7.example",
        "webhook url": "https://bot.phuong7.example",
    }[kind]
    assert locations and all(loc.startswith(base + "/") for loc in locations)
    assert feed["feed_url"] == f"{base}/feed.json"
    if base:
        assert f"Sitemap: {base}/sitemap.xml" in robots
    else:
        assert "Sitemap:" not in robots  # an absolute address or none


@pytest.mark.parametrize(
    "value", ["bang.example", "ftp://bang.example", "https://", "https://x.example/bang?a=1"]
)
def test_a_public_url_that_is_not_an_origin_fails_at_start_naming_the_setting(value):
    with pytest.raises(SettingsError) as error:
        load_settings(public_url=value)
    assert str(error.value).startswith("DOITHOAI_PUBLIC_URL:")
    assert "\n" not in str(error.value)
