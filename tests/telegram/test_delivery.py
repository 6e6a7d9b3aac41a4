"""What Telegram's limits and refusals do to delivery: throttles, blocks, splitting, menus."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select

from storage.dialogues import general_intake
from storage.models import Account, OutboxMessage
from storage.questions import add_question


async def _sends_to(fake, chat_id):
    return [
        c
        for c in fake.calls
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(chat_id)
    ]


async def test_commands_are_registered_in_vietnamese_and_english(telegram):
    commands = telegram.fake.commands
    vi = {c["command"]: c["description"] for c in commands[("all_private_chats", "vi")]}
    en = {c["command"]: c["description"] for c in commands[("all_private_chats", "en")]}
    assert (
        vi["hoi"] == "Gửi câu hỏi"
        and vi["cauhoi"] == "Câu hỏi của tôi"
        and vi["xoa"] == "Xoá dữ liệu của tôi"
    )
    assert en["ask"] == "Send a question" and en["myquestions"] == "My questions"
    assert commands[("all_private_chats", "")] == commands[("all_private_chats", "vi")]


async def test_a_throttled_reply_waits_at_least_retry_after_and_then_goes(telegram, clock):
    lan = telegram.chat(201)
    telegram.fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 30",
        retry_after=30,
        chat_id=201,
    )
    telegram.fake.send_text(201, "/start")
    await telegram.fake.await_call("sendMessage")
    await asyncio.sleep(0.5)
    assert telegram.fake.messages_to(201) == []
    clock.advance(seconds=29)
    telegram.runtime.outbox.wake()
    await asyncio.sleep(0.5)
    assert telegram.fake.messages_to(201) == [], "resent before retry_after"
    clock.advance(seconds=3)
    telegram.runtime.outbox.wake()
    [welcome] = await lan.expect(1)
    assert welcome.text.startswith("Chào mừng")


async def test_a_blocked_chat_is_marked_unreachable_and_not_retried(telegram, clock):
    lan = await telegram.consenting(202)
    telegram.fake.block(202)
    telegram.fake.send_text(202, "/trogiup")
    await telegram.fake.await_call("sendMessage", count=3)
    for _ in range(3):
        clock.advance(seconds=120)
        telegram.runtime.outbox.wake()
        await asyncio.sleep(0.3)
    assert len(await _sends_to(telegram.fake, 202)) == 3  # two before the block, one refused
    async with telegram.runtime.sessions() as session:
        account = await session.scalar(select(Account))
        statuses = list(
            await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))
        )
    assert account.unreachable_at is not None
    assert statuses[-1] == "unreachable"
    telegram.fake.unblock(202)
    [help_again] = await lan.say("/trogiup")
    assert help_again.text.startswith("Trợ giúp")
    async with telegram.runtime.sessions() as session:
        assert (await session.scalar(select(Account))).unreachable_at is None


async def test_a_list_longer_than_telegram_allows_is_split_with_the_buttons_on_the_last_part(
    telegram,
):
    lan = await telegram.consenting(203)
    async with telegram.runtime.sessions() as session, session.begin():
        account = await session.scalar(select(Account))
        intake = await general_intake(session)
        for n in range(20):
            await add_question(
                session,
                dialogue_id=intake.id,
                topic="khac",
                agency="ubnd",
                text=f"Câu hỏi số {n} " + "về đường <giao thông> & cống thoát nước " * 8,
                submitted_on=date(2026, 11, 1),
                account_id=account.id,
            )
    first, second = await lan.say("/cauhoi", expect=2)
    assert first.text.startswith("20 câu hỏi của ông/bà")
    assert first.buttons == [] and second.button_texts[0] == "✍️ Gửi câu hỏi"
    assert "<giao thông> & cống" in first.text
    assert first.text.count("#") + second.text.count("#") == 20
