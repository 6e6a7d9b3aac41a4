"""A household on Zalo, end to end: its invitation and the answer to its question arrive
through the OA; when Zalo refuses a message because the household has not written within its
window (-230), the message goes once to the household's Telegram chat instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.telegram import TelegramChannel
from storage.models import HouseholdLink, Invitation, OutboxMessage
from tests.fakes.telegram_api import FakeBotAPI
from tests.telegram.conftest import Harness
from tests.telegram.test_inbox import approve, vi
from tests.telegram.test_invitations import _dialogue, _households, _link
from tests.test_two_channels import delivered, invite
from tests.zalo.conftest import ZaloChat, ZaloHarness, options

ANSWER = "Danh sách hộ cận nghèo được niêm yết tại UBND phường từ ngày 30/11/2026."


@pytest.fixture
async def telegram_too(zalo: ZaloHarness) -> AsyncIterator[Harness]:
    """Telegram beside Zalo in the same service: a household may be linked on both."""
    fake = FakeBotAPI().start()
    channel = TelegramChannel(
        token=fake.token,
        api_url=fake.url,
        dispatch=zalo.runtime.dispatcher.dispatch,
        spacing=timedelta(milliseconds=50),
    )
    zalo.runtime.add_channel(channel)
    await channel.start_polling()
    try:
        yield Harness(fake, zalo.runtime, channel)
    finally:
        zalo.runtime.channels.pop(channel.name, None)
        await channel.stop()
        fake.stop()
    assert fake.violations == [], "the bot made calls Telegram would refuse"


async def _link_on_zalo(zalo: ZaloHarness, user_id: str, household) -> ZaloChat:
    """A Zalo chat linked to the household by its code (the letter's link), after consent."""
    chat = zalo.chat(user_id)
    zalo.fake.follow_user(user_id)
    [welcome] = await chat.say(f"/start {household.link_code}")
    assert "✅ Tôi đồng ý" in options(welcome)
    [linked] = await chat.press("Tôi đồng ý")
    assert f"hộ {household.head_name}" in linked.text
    return chat


async def test_a_household_on_zalo_gets_its_invitation_and_the_answer_to_its_question(zalo, clock):
    runtime = zalo.runtime
    [household, *_] = await _households(runtime, count=2)
    official = await zalo.staff("8409000000000000009", role="official", agency="ldtbxh")
    lan = await _link_on_zalo(zalo, "8409000000000000001", household)
    ticket = await zalo.ask(lan, "Khi nào công bố danh sách hộ cận nghèo năm nay?")
    await approve(zalo, ticket)

    d = await _dialogue(runtime, clock, total=1, priority=1)
    await invite(runtime, d, [household])
    [invitation] = await lan.expect(1)
    assert "Giấy mời dự đối thoại chính sách".upper() in invitation.text
    assert f"Kính mời Ông {household.head_name} tham dự" in invitation.text
    assert options(invitation)[:2] == ["✅ Tham dự", "❌ Không tham dự"]
    [accepted] = await lan.press("Tham dự")
    assert accepted.text.startswith("Xin cảm ơn: chúng tôi kính chờ ông/bà lúc")

    await official.say("/hopthu")
    await official.press(f"#{ticket}")
    await official.press(vi("✍️ Answer"))
    await official.say(ANSWER)
    await official.press(vi("📢 Publish"))
    [news] = await lan.expect(1)
    assert vi("Your question has an answer").upper() in news.text
    assert f"#{ticket}" in news.text and ANSWER in news.text
    assert options(news) == [vi("😊 Satisfied"), vi("🙁 Not satisfied")]
    [thanks] = await lan.press(vi("😊 Satisfied"))
    assert thanks.text == vi("Thank you for telling us. We are glad the answer helps.")
    async with runtime.sessions() as session:
        assert (await session.scalar(select(Invitation))).status == "accepted"
        statuses = set(await session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}


async def test_what_zalo_refuses_outside_its_window_goes_once_to_the_households_telegram_chat(
    zalo, telegram_too, clock
):
    runtime = zalo.runtime
    [household, *_] = await _households(runtime, count=2)
    on_telegram = await _link(telegram_too, 951, household)
    clock.advance(minutes=1)
    on_zalo = await _link_on_zalo(zalo, "8409000000000000051", household)  # used last...
    # ...but more than Zalo's window ago, as far as Zalo knows.
    zalo.fake.set_last_interaction(on_zalo.user_id, clock() - timedelta(days=8))

    d = await _dialogue(runtime, clock, total=1, priority=1)
    await invite(runtime, d, [household])
    [invitation] = await on_telegram.expect(1)
    assert invitation.text.startswith("Giấy mời dự đối thoại chính sách")
    assert f"Kính mời Ông {household.head_name} tham dự" in invitation.text
    [accepted] = await on_telegram.press("Tham dự")
    assert accepted.text.startswith("Xin cảm ơn: chúng tôi kính chờ ông/bà lúc")
    await delivered(runtime)
    await on_zalo.expect(0)

    async with runtime.sessions() as session:
        rows = {
            row.key: row
            for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.key.like(f"invite:{d.id}:%"))
            )
        }
        links = {link.channel for link in await session.scalars(select(HouseholdLink))}
    key = f"invite:{d.id}:{household.id}:zalo"
    assert links == {"telegram", "zalo"}
    assert set(rows) == {key, f"{key}:via:telegram"}
    assert (rows[key].status, rows[key].body) == ("window", None)
    assert "-230" in rows[key].error
    assert (rows[f"{key}:via:telegram"].status, rows[f"{key}:via:telegram"].recipient) == (
        "sent",
        "951",
    )
