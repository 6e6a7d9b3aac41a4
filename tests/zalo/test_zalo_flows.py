"""Citizens on Zalo, end to end: signed webhook events in, the OA's messages out, through the
same handlers as on Telegram."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from storage.models import (
    Account,
    Conversation,
    IncomingEvent,
    OutboxMessage,
    ProcessedUpdate,
    Question,
)
from tests.zalo.conftest import options

LAN = "8403122334455667788"


async def _count(zalo, table) -> int:
    async with zalo.runtime.sessions() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def test_a_citizen_follows_the_oa_and_asks_anonymously_through_to_my_questions(zalo):
    lan = zalo.chat(LAN)
    [welcome] = await lan.follow()
    assert welcome.text.startswith("CHÀO MỪNG\n\n")  # the title, as Zalo shows no bold
    assert options(welcome)[:2] == ["✅ Tôi đồng ý", "Để sau"]
    async with zalo.runtime.sessions() as session:
        assert list(await session.scalars(select(Account))) == []  # nothing before consent
    [menu] = await lan.press("Tôi đồng ý")
    assert "✍️ Gửi câu hỏi" in options(menu)

    [topics] = await lan.say("/hoi")
    assert "Câu hỏi của ông/bà thuộc lĩnh vực nào?" in topics.text
    assert any("Rà soát" in option for option in options(topics))
    [prompt] = await lan.press("Rà soát")
    assert "từ 10 đến 1000 ký tự" in prompt.text
    question = "Vì sao nhà bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo? <điều tra lại>"
    [how] = await lan.say(question)
    assert options(how)[:2] == ["🕶 Ẩn danh", "👤 Ghi tên tôi"]
    [check] = await lan.press("Ẩn danh")
    assert "Cách gửi: Ẩn danh" in check.text and question in check.text
    [receipt] = await lan.press("✅ Gửi")
    assert receipt.text.startswith("ĐÃ NHẬN CÂU HỎI CỦA ÔNG/BÀ")
    assert "không ai biết người hỏi là ai" in receipt.text

    async with zalo.runtime.sessions() as session:
        [stored] = list(await session.scalars(select(Question)))
        [account] = list(await session.scalars(select(Account)))
        shown = list(
            await session.scalars(
                select(Conversation).where(Conversation.sealed_choices.is_not(None))
            )
        )
    assert f"Mã câu hỏi: {stored.ticket}" in receipt.text
    assert stored.text == question and stored.anonymous and stored.account_id is None
    assert stored.topic == "rasoat"
    assert (account.channel, account.user_id) == ("zalo", LAN)
    # The choices shown (which name the ticket) are kept sealed, never in clear.
    assert all(stored.ticket.encode() not in row.sealed_choices for row in shown)

    [mine] = await lan.say("/cauhoi")
    assert f"#{stored.ticket}" in mine.text and "🕶 ẩn danh" in mine.text
    assert "<điều tra lại>" in mine.text  # shown as typed: Zalo has no markup
    # Every event was processed and forgotten; every reply went out.
    assert await _count(zalo, IncomingEvent) == 0
    async with zalo.runtime.sessions() as session:
        statuses = set(await session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}


async def test_typing_start_works_like_following(zalo):
    lan = zalo.chat(LAN)
    zalo.fake.follow_user(LAN)
    [welcome] = await lan.say("/start")
    assert welcome.text.startswith("CHÀO MỪNG")
    [menu] = await lan.press("Tôi đồng ý")
    assert "📋 Câu hỏi của tôi" in options(menu)


async def test_the_harness_asks_a_question_and_gives_a_staff_role_on_zalo(zalo):
    lan = await zalo.consenting(LAN)
    ticket = await zalo.ask(lan, "Xin hỏi về việc rà soát hộ nghèo năm nay ở khóm 3?")
    await zalo.staff("8403000000000000002", role="official", agency="ldtbxh", name="Chị Hoa")
    async with zalo.runtime.sessions() as session:
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
    assert question is not None and question.anonymous


async def test_an_event_with_a_bad_signature_is_refused_and_nothing_is_processed(zalo):
    fake = zalo.fake
    fake.follow_user(LAN)
    event = fake.text_event(LAN, "/start")
    raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    good = fake.sign(raw, event["timestamp"], prefix=False)
    wrong = ("0" if good[0] != "0" else "1") + good[1:]
    for signature in ("mac=" + wrong, "mac=" + "0" * 64, "mac=", ""):
        posted = await fake.post(event, signature=signature)
        assert (posted.status, posted.text) == (401, "")
    # A signature Zalo made for another event: the bytes differ.
    other = fake.text_event(LAN, "/cauhoi")
    assert (await fake.post(other, signature="mac=" + good)).status == 401
    await asyncio.sleep(0.5)  # the worker polls every 0.2 s: it would have found something
    assert await _count(zalo, IncomingEvent) == 0
    assert await _count(zalo, ProcessedUpdate) == 0
    assert fake.messages_to(LAN) == []
    # The same event, signed as Zalo signs it, is taken.
    assert (await fake.post(event, signature="mac=" + good)).status == 200
    [welcome] = await zalo.chat(LAN).expect(1)
    assert welcome.text.startswith("CHÀO MỪNG")


async def test_a_replayed_event_is_processed_once(zalo):
    lan = zalo.chat(LAN)
    await lan.follow()
    [menu] = await lan.press("Tôi đồng ý")
    assert "✍️ Gửi câu hỏi" in options(menu)
    pressed = lan.posted
    # Zalo posts it again (it did not get the 200 in time), twice at once, then later.
    again = await asyncio.gather(zalo.fake.replay(pressed), zalo.fake.replay(pressed))
    assert [p.status for p in again] == [200, 200]
    await lan.expect(0)
    assert (await zalo.fake.replay(pressed)).status == 200
    await lan.expect(0)
    assert await _count(zalo, ProcessedUpdate) == 2  # the follow and the press
    assert await _count(zalo, IncomingEvent) == 0
    async with zalo.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 1
