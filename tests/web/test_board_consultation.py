"""A consultation's page on the public board (/tham-van/<id>): the plan, the deep link and QR
code while it is open, the results with small groups folded, the adoption decisions with why
not; a draft is not public; no respondent anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import lxml.etree
import lxml.html
import pytest

from bot.board import create_board_app
from bot.core.messages import Address
from storage import consultations as store
from tests.web import board_support

board_runtime = board_support.board_runtime

QUESTIONS = [
    {
        "id": "agree",
        "type": "single",
        "text": "Ông/bà có đồng ý với dự thảo không?",
        "choices": ["Đồng ý", "Không đồng ý"],
        "required": True,
    },
    {"id": "idea", "type": "text", "text": "Ý kiến khác?", "required": False},
]


@pytest.fixture
async def client(board_runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_board_app(board_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as session:
        yield session


def text_of(response: httpx.Response) -> str:
    return " ".join(lxml.html.fromstring(response.text).text_content().split())


async def _consultation(runtime, *, status: str) -> int:
    now = runtime.clock()
    async with runtime.sessions() as session, session.begin():
        c = await store.create_consultation(
            session,
            title="Lấy ý kiến về lịch thu gom rác",
            purpose="Chọn giờ thu gom phù hợp với người dân.",
            policy="Dự thảo lịch thu gom rác của phường.",
            link="https://phuong7.example.vn/lich-thu-gom",
            audience={"wards": ["Phường 7"], "categories": [], "priority": [], "open": True},
            targets={"poor": 10, "other": 10},
            questions=QUESTIONS,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=10),
            now=now,
        )
        if status != "draft":
            await store.set_status(session, consultation=c, status="open", now=now)
        groups = ["poor"] * 7 + ["other"] * 2
        for number, group in enumerate(groups):
            response = await store.start_response(
                session,
                consultation_id=c.id,
                respondent_hash=f"{number:064x}",
                reply_handle=runtime.dispatcher.sealer.seal(Address("telegram", f"77{number}")),
                group=group,
                ward="Phường 7",
            )
            await store.submit(
                session,
                response=response,
                answers={
                    "agree": "Đồng ý" if number < 6 else "Không đồng ý",
                    "idea": "Thu gom buổi sáng sớm." if number < 3 else None,
                },
                text_questions=["idea"],
                on=date(2026, 11, 20),
            )
        theme = await store.theme_named(session, consultation_id=c.id, name="Giờ thu gom")
        await store.tag(
            session,
            consultation_id=c.id,
            opinion_ids=[o.id for o in await store.opinions(session, consultation_id=c.id)],
            theme_id=theme.id,
        )
        other = await store.theme_named(session, consultation_id=c.id, name="Phí thu gom")
        await store.decide(
            session,
            theme=theme,
            decision="adopted",
            reason="",
            change="Thu gom từ 5 giờ sáng.",
            on=date(2026, 11, 25),
        )
        await store.decide(
            session,
            theme=other,
            decision="not_adopted",
            reason="Mức phí do thành phố quy định.",
            change="",
            on=date(2026, 11, 25),
        )
        return c.id


async def test_an_open_consultation_shows_its_plan_link_results_and_decisions(
    board_runtime, client
):
    cid = await _consultation(board_runtime, status="open")
    response = await client.get(f"/tham-van/{cid}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Lấy ý kiến về lịch thu gom rác" in page
    assert "Chọn giờ thu gom phù hợp với người dân." in page
    link = f"https://t.me/{board_support.BOT}?start=gopy_{cid}"
    assert link in response.text and "<svg" in response.text  # the deep link and its QR code
    assert "Đồng ý" in page and "6 (67 %" in page
    # 7 poor households are shown; 2 others are fewer than 5: never shown apart.
    rows = lxml.html.fromstring(response.text).xpath("//table[1]/tbody/tr")
    cells = [[" ".join(td.text_content().split()) for td in row.xpath("td")] for row in rows]
    assert ["Hộ nghèo", "7", "10 (chưa đạt)"] in cells
    assert any(row[1] == "dưới 5" for row in cells)
    assert "Tiếp thu" in page and "Thu gom từ 5 giờ sáng." in page
    assert "Không tiếp thu" in page and "Mức phí do thành phố quy định." in page
    assert "7" + "70" not in response.text  # no respondent's chat
    english = await client.get(f"/tham-van/{cid}", params={"lang": "en"})
    assert "Adopted" in text_of(english) and "Not adopted" in text_of(english)

    # The decisions as an Atom feed, for a newsroom or the ward's portal.
    feed = await client.get(f"/tham-van/{cid}/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom")
    root = lxml.etree.fromstring(feed.content)
    atom = "{http://www.w3.org/2005/Atom}"
    titles = sorted(e.findtext(f"{atom}title") for e in root.iter(f"{atom}entry"))
    assert titles == ["Giờ thu gom: Tiếp thu", "Phí thu gom: Không tiếp thu"]
    assert "Mức phí do thành phố quy định." in feed.text
    assert f"/tham-van/{cid}/feed.atom" in response.text

    # Listed on the board's home page and in its sitemap.
    home = await client.get("/")
    assert f'href="/tham-van/{cid}"' in home.text and "Lấy ý kiến về lịch thu gom rác" in home.text
    sitemap = await client.get("/sitemap.xml")
    assert f"/tham-van/{cid}</loc>" in sitemap.text


async def test_a_draft_or_unknown_consultation_is_not_public(board_runtime, client):
    cid = await _consultation(board_runtime, status="draft")
    assert (await client.get(f"/tham-van/{cid}")).status_code == 404
    assert (await client.get("/tham-van/9999")).status_code == 404
    assert (await client.get("/tham-van/abc")).status_code == 404
    assert (await client.get(f"/tham-van/{cid}/feed.atom")).status_code == 404
    assert f"/tham-van/{cid}" not in (await client.get("/")).text
