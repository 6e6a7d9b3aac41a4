"""Households invited by a printed letter that later link their chat, chats that blocked the
bot, and the command menu: end to end through the Bot API fake."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.clock import Ticker
from bot.services.invitations import Invitations
from storage import invitations as inv
from storage.models import Account, Invitation, OutboxMessage
from tests.support import wait_until
from tests.telegram.test_invitations import _dialogue, _households, _link


async def _invite_by_letter(runtime, clock, d, households) -> None:
    """Select these households and invite them: none has a chat, so each gets a letter,
    printed (as `doithoai dialogue invite --letters` does)."""
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session,
            dialogue_id=d.id,
            chosen=[(h.id, "priority", n) for n, h in enumerate(households)],
            waiting=[],
        )
        result = await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
        assert result.letters == len(households)
        printed = await inv.letters_to_print(session, dialogue_id=d.id)
        await inv.mark_printed(
            session, invitation_ids=[i.invitation.id for i in printed], now=clock()
        )


async def _invitation(runtime, d, household) -> Invitation:
    async with runtime.sessions() as session:
        return await session.scalar(
            select(Invitation).where(
                Invitation.dialogue_id == d.id, Invitation.household_id == household.id
            )
        )


async def test_a_household_invited_by_letter_that_links_its_chat_gets_its_reminders_there(
    telegram, clock
):
    runtime = telegram.runtime
    households = await _households(runtime, count=2)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    await _invite_by_letter(runtime, clock, d, [households[0]])
    assert (await _invitation(runtime, d, households[0])).status == "letter"

    # The head scans the QR code on the letter.
    chat = telegram.chat(450)
    await chat.say(f"/start {households[0].link_code}")
    linked, invitation, menu = await chat.press("Tôi đồng ý", expect=3)
    assert linked.text.startswith(
        f"Cuộc trò chuyện này đã được liên kết với hộ {households[0].head_name}"
    )
    assert f"Kính mời Ông {households[0].head_name} tham dự" in invitation.text
    assert "Thời gian: 09:00, Thứ Tư, 25/11/2026" in invitation.text
    assert invitation.button_texts[:2] == ["✅ Tham dự", "❌ Không tham dự"]
    assert menu.buttons
    stored = await _invitation(runtime, d, households[0])
    assert (stored.status, stored.channel) == ("invited", "telegram")

    # Its reminders come to the chat: with the answer buttons while it has not answered.
    ticker = Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        on_messages=runtime.outbox.wake,
    )
    clock.advance(days=2, minutes=1)
    assert await ticker.tick() == 1
    [reminder] = await chat.expect(1)
    assert reminder.text.startswith("Nhắc lịch đối thoại")
    assert reminder.button_texts == ["✅ Tham dự", "❌ Không tham dự"]
    [accepted] = await chat.press("Tham dự")
    assert "09:00, Thứ Tư, 25/11/2026" in accepted.text

    # A move and a cancellation are told in the chat, and no letter is left out of date.
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        dialogue.starts_at = dialogue.starts_at.replace(hour=7)  # 14:00 local
        told = await Invitations(runtime.notifier).announce_move(
            session, dialogue=dialogue, now=clock()
        )
        assert told == 1
        assert await inv.outdate_letters(session, dialogue_id=d.id, now=clock()) == []
    runtime.outbox.wake()
    [moved] = await chat.expect(1)
    assert moved.text.startswith("Thay đổi thời gian") and "14:00" in moved.text
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        told = await Invitations(runtime.notifier).announce_cancellation(
            session, dialogue=dialogue, now=clock()
        )
        assert told == 1
    runtime.outbox.wake()
    [cancelled] = await chat.expect(1)
    assert cancelled.text.startswith("Buổi đối thoại đã bị huỷ")

    # One register throughout: the head is addressed by name or as ông/bà, never "bạn".
    for message in (linked, invitation, reminder, accepted, moved, cancelled):
        assert not re.search(r"\bbạn\b", message.text, re.IGNORECASE), message.text
    assert "kính chờ ông/bà" in accepted.text
    assert "ông/bà sẽ được báo khi có lịch mới" in cancelled.text
    assert "Ông/bà chưa cho biết có tham dự hay không." in reminder.text


async def test_linking_by_phone_also_brings_the_letters_invitation_to_the_chat(telegram, clock):
    runtime = telegram.runtime
    households = await _households(runtime, count=3)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    await _invite_by_letter(runtime, clock, d, [households[2]])
    chat = await telegram.consenting(451)
    await chat.press("Hộ gia đình của tôi")
    telegram.fake.send_contact(451, "+84 912 345 002")
    linked, invitation = await chat.expect(2)
    assert f"hộ {households[2].head_name}" in linked.text
    assert f"Kính mời Ông {households[2].head_name} tham dự" in invitation.text
    assert (await _invitation(runtime, d, households[2])).status == "invited"


def _sends_to(telegram, chat_id: int) -> int:
    return sum(
        1
        for call in telegram.fake.calls
        if call.method == "sendMessage" and str(call.params.get("chat_id")) == str(chat_id)
    )


async def _status(runtime, key: str) -> str | None:
    async with runtime.sessions() as session:
        return await session.scalar(select(OutboxMessage.status).where(OutboxMessage.key == key))


async def test_a_chat_that_blocked_the_bot_is_not_tried_again_until_the_person_writes(
    telegram, clock
):
    runtime = telegram.runtime
    households = await _households(runtime, count=2)
    blocked = await _link(telegram, 460, households[0])
    other = await _link(telegram, 461, households[1])
    d = await _dialogue(runtime, clock, total=2, priority=1)
    telegram.fake.block(460)
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session,
            dialogue_id=d.id,
            chosen=[(households[0].id, "priority", 0), (households[1].id, "other", 0)],
            waiting=[],
        )
        await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    runtime.outbox.wake()
    await other.expect(1)
    invite_key = f"invite:{d.id}:{households[0].id}:telegram"
    await wait_until(
        _is(runtime, invite_key, "unreachable"), timeout=30, what="the invitation refused"
    )
    tried = _sends_to(telegram, 460)
    assert tried >= 1

    # The dialogue moves: the blocked chat's notice is recorded, never requested.
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        dialogue.starts_at = dialogue.starts_at.replace(hour=7)
        assert (
            await Invitations(runtime.notifier).announce_move(
                session,
                dialogue=dialogue,
                now=clock(),
            )
            == 1  # the household that blocked the bot is not counted as told
        )
    runtime.outbox.wake()
    [moved] = await other.expect(1)
    assert moved.text.startswith("Thay đổi thời gian")
    async with runtime.sessions() as session:
        notice = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.key.like(f"moved:{d.id}:%:{households[0].id}")
            )
        )
    assert (notice.status, notice.body, notice.attempts) == ("unreachable", None, 0)
    assert _sends_to(telegram, 460) == tried

    # The person unblocks the bot and writes: reachable again, the next notice goes.
    telegram.fake.unblock(460)
    [helped] = await blocked.say("/trogiup")
    assert helped.text
    async with runtime.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_id == "460"))
    assert account.unreachable_at is None
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        await Invitations(runtime.notifier).announce_cancellation(
            session, dialogue=dialogue, now=clock()
        )
    runtime.outbox.wake()
    [cancelled] = await blocked.expect(1)
    assert cancelled.text.startswith("Buổi đối thoại đã bị huỷ")
    await other.expect(1)


def _is(runtime, key: str, status: str):
    async def check() -> bool:
        return await _status(runtime, key) == status

    return check


async def test_the_command_menu_offers_other_peoples_questions(telegram):
    commands = telegram.fake.commands
    vi = {c["command"]: c["description"] for c in commands[("all_private_chats", "vi")]}
    en = {c["command"]: c["description"] for c in commands[("all_private_chats", "en")]}
    assert vi["xemcauhoi"] == "Câu hỏi của mọi người"
    assert en["browse"] == "Other people's questions"
    assert list(vi).index("xemcauhoi") == list(vi).index("cauhoi") + 1
