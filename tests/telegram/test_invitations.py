"""Households linked by code or phone, invited by quota, answering, replaced from the waitlist
and reminded: end to end through the Bot API fake, with a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.clock import Ticker
from bot.services.invitations import Invitations
from storage import invitations as inv
from storage.dialogues import create_dialogue
from storage.households import HouseholdRow, upsert_households
from storage.models import Household, HouseholdLink, Invitation, Reminder
from storage.reminders import schedule

WARD = "Phường 7"


async def _households(runtime, count=6, ward=WARD):
    rows = [
        HouseholdRow(
            code=f"P7-{n:03}",
            head_name=name,
            gender="female" if n % 2 else "male",
            ethnicity="Khmer" if n % 3 == 0 else "Kinh",
            category="poor" if n < count - 2 else "other",
            ward=ward,
            hamlet="Khóm 3",
            phone=f"09123450{n:02}",
        )
        for n, name in enumerate(
            [
                "Thạch Thị Sa Ly",
                "Nguyễn Văn Hai",
                "Lê Thị Ba",
                "Kim Sô Phên",
                "Trần Văn Năm",
                "Sơn Thị Sáu",
                "Phạm Văn Bảy",
                "Đỗ Thị Tám",
            ][:count]
        )
    ]
    async with runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
        found = list(await session.scalars(select(Household).order_by(Household.code)))
    return found


async def _dialogue(runtime, clock, total=2, priority=1):
    async with runtime.sessions() as session, session.begin():
        d = await create_dialogue(
            session,
            title="Đối thoại chính sách giảm nghèo 2026",
            starts_at=clock() + timedelta(days=5),
            venue="Hội trường UBND Phường 7",
            question_deadline=clock() + timedelta(days=4),
            topics=["giamngheo", "tindung"],
            wards=[WARD],
            quota_total=total,
            quota_priority=priority,
        )
        await schedule(
            session,
            dialogue=d,
            offsets=[timedelta(days=3), timedelta(days=1), timedelta(hours=2)],
            now=clock(),
        )
    return d


async def _link(telegram, user_id, household, name="Chủ hộ"):
    chat = telegram.chat(user_id, name)
    await chat.say(f"/start {household.link_code}")
    [linked] = await chat.press("Tôi đồng ý")
    assert f"hộ {household.head_name}" in linked.text
    return chat


async def test_a_deep_link_code_links_the_chat_after_consent(telegram):
    [household, *_] = await _households(telegram.runtime)
    chat = telegram.chat(401)
    [consent] = await chat.say(f"/start {household.link_code}")
    assert "✅ Tôi đồng ý" in consent.button_texts
    [linked] = await chat.press("Tôi đồng ý")
    assert linked.text.startswith(
        f"Cuộc trò chuyện này đã được liên kết với hộ {household.head_name} (Khóm 3, Phường 7)"
    )
    async with telegram.runtime.sessions() as session:
        link = await session.scalar(select(HouseholdLink))
    assert (link.household_id, link.user_id) == (household.id, "401")


async def test_a_code_linked_to_another_chat_is_refused(telegram):
    [household, *_] = await _households(telegram.runtime)
    await _link(telegram, 402, household)
    other = telegram.chat(403)
    await other.say("/start")
    await other.press("Tôi đồng ý")
    [refused] = await other.say(f"/start {household.link_code}")
    assert refused.text.startswith("Hộ này đã được liên kết với một cuộc trò chuyện khác")


async def test_wrong_codes_are_throttled_against_guessing(telegram):
    await _households(telegram.runtime)
    chat = telegram.chat(404)
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    for attempt in range(5):
        [wrong] = await chat.say(f"/start WRONG{attempt}")
        assert "không đúng hoặc đã hết hạn" in wrong.text
    assert "Mã đã bị nhập sai quá nhiều lần" in wrong.text
    [blocked] = await chat.say("/start WRONG9")
    assert blocked.text.startswith("Mã đã bị nhập sai quá nhiều lần. Xin thử lại sau")


async def test_sharing_ones_own_phone_links_by_the_registry(telegram):
    households = await _households(telegram.runtime)
    chat = telegram.chat(405)
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    [offer] = await chat.press("Hộ gia đình của tôi")
    sent = telegram.fake.calls[-1] if telegram.fake.calls[-1].method == "sendMessage" else None
    markup = [c for c in telegram.fake.calls if c.method == "sendMessage"][-1].params[
        "reply_markup"
    ]
    assert markup["keyboard"][0][0]["request_contact"] is True
    assert "số điện thoại" in offer.text and sent is not None
    telegram.fake.send_contact(405, "+84 912 345 002")
    [linked] = await chat.expect(1)
    assert f"hộ {households[2].head_name}" in linked.text


async def test_invitations_answers_and_the_waitlist_end_to_end(telegram, clock):
    runtime = telegram.runtime
    households = await _households(runtime)
    d = await _dialogue(runtime, clock)
    chats = {h.id: await _link(telegram, 410 + n, h) for n, h in enumerate(households)}
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session,
            dialogue_id=d.id,
            chosen=[(households[0].id, "priority", 0), (households[4].id, "other", 0)],
            waiting=[(households[1].id, "priority", 1), (households[5].id, "other", 1)],
        )
        result = await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    assert (result.queued, result.letters) == (2, 0)
    runtime.outbox.wake()
    first = chats[households[0].id]
    [invitation] = await first.expect(1)
    assert invitation.text.startswith("Giấy mời dự đối thoại chính sách")
    assert "Kính mời Ông Thạch Thị Sa Ly tham dự" in invitation.text  # registered as male
    assert "Đối thoại chính sách giảm nghèo 2026" in invitation.text
    assert "Thời gian: 09:00, Thứ Tư, 25/11/2026" in invitation.text
    assert "Hội trường UBND Phường 7" in invitation.text
    assert "Giảm nghèo, sinh kế, học nghề, Tín dụng, vay vốn" in invitation.text
    assert invitation.button_texts[:2] == ["✅ Tham dự", "❌ Không tham dự"]
    answer_yes = invitation.data_for("Tham dự")
    [accepted] = await first.press("Tham dự")
    assert accepted.text.startswith(
        "Xin cảm ơn: chúng tôi kính chờ ông/bà lúc 09:00, Thứ Tư, 25/11/2026"
    )

    other = chats[households[4].id]
    await other.expect(1)
    [declined] = await other.press("Không tham dự")
    assert declined.text.startswith("Đã ghi nhận: ông/bà sẽ không tham dự")
    replacement = chats[households[5].id]  # the next of the same group
    [invited_next] = await replacement.expect(1)
    assert invited_next.text.startswith("Giấy mời dự đối thoại chính sách")
    async with runtime.sessions() as session:
        statuses = {
            i.household_id: i.status
            for i in await session.scalars(select(Invitation).where(Invitation.dialogue_id == d.id))
        }
    assert statuses == {
        households[0].id: "accepted",
        households[4].id: "declined",
        households[5].id: "invited",
        households[1].id: "waitlist",
    }

    # Running the invitation again sends nothing twice.
    async with runtime.sessions() as session, session.begin():
        again = await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    assert again.queued == 0
    await asyncio.sleep(0.5)
    assert len(telegram.fake.messages_to(first.user_id)) == first.seen

    # Someone else pressing a household's answer button is refused.
    intruder = chats[households[1].id]
    own_message = telegram.fake.messages_to(intruder.user_id)[-1].message_id
    telegram.fake.press(intruder.user_id, answer_yes, message_id=own_message)
    [refused] = await intruder.expect(1)
    assert refused.text == "Lời mời này không dành cho cuộc trò chuyện này."

    # Reminders: each fires once, to those who accepted or have not answered, never after the start.
    ticker = Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        on_messages=runtime.outbox.wake,
    )
    clock.advance(days=2, minutes=1)  # 3 days before the start
    assert await ticker.tick() == 2
    assert await ticker.tick() == 0  # a second tick (or process) finds nothing more
    [reminder] = await first.expect(1)
    assert reminder.text.startswith("Nhắc lịch đối thoại") and reminder.buttons == []
    [pending_reminder] = await replacement.expect(1)
    assert pending_reminder.button_texts == ["✅ Tham dự", "❌ Không tham dự"]
    await asyncio.sleep(0.3)
    assert len(telegram.fake.messages_to(other.user_id)) == other.seen  # declined: not reminded

    clock.advance(days=3)  # past the start: the 1-day and 2-hour reminders never go
    assert await ticker.tick() == 0
    async with runtime.sessions() as session:
        left = {r.before_minutes: r.status for r in await session.scalars(select(Reminder))}
    assert left == {3 * 24 * 60: "fired", 24 * 60: "skipped", 120: "skipped"}


async def test_late_reminders_send_only_the_latest_and_moving_retimes_them(telegram, clock):
    runtime = telegram.runtime
    households = await _households(runtime, count=2)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    chat = await _link(telegram, 420, households[0])
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session, dialogue_id=d.id, chosen=[(households[0].id, "priority", 0)], waiting=[]
        )
        await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    runtime.outbox.wake()
    await chat.expect(1)
    ticker = Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        on_messages=runtime.outbox.wake,
    )
    clock.advance(days=4, hours=1)  # the service was down: the 3-day and 1-day are both due
    assert await ticker.tick() == 1
    [reminder] = await chat.expect(1)
    assert reminder.text.startswith("Nhắc lịch đối thoại")
    async with runtime.sessions() as session:
        statuses = sorted(
            (r.before_minutes, r.status) for r in await session.scalars(select(Reminder))
        )
    assert statuses == [(120, "pending"), (1440, "fired"), (4320, "skipped")]


async def test_the_database_writes_each_invitation_exactly_as_the_bot_would(runtime, clock):
    from bot.core.i18n import Translator
    from bot.services.invitations import invitation_reply
    from storage.models import Account, OutboxMessage

    households = await _households(runtime, count=4)
    d = await _dialogue(runtime, clock, total=3, priority=2)
    async with runtime.sessions() as session, session.begin():
        for n, household in enumerate(households[:3]):
            session.add(
                HouseholdLink(
                    household_id=household.id,
                    channel="telegram",
                    user_id=str(500 + n),
                    linked_at=clock(),
                    last_used_at=clock(),
                )
            )
        session.add(
            Account(
                channel="telegram",
                user_id="501",
                display_name="x",
                locale="en",
                asker_salt=b"s" * 32,
                consented_on=clock().date(),
            )
        )
        await inv.save_selection(
            session,
            dialogue_id=d.id,
            chosen=[(h.id, "priority", n) for n, h in enumerate(households)],
            waiting=[],
        )
        result = await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    assert (result.queued, result.letters) == (3, 1)
    async with runtime.sessions() as session:
        rows = {m.recipient: m for m in await session.scalars(select(OutboxMessage))}
        invitations = {i.household_id: i for i in await session.scalars(select(Invitation))}
        dialogue = await session.get(type(d), d.id)
    for n, household in enumerate(households[:3]):
        locale = "en" if n == 1 else "vi"
        expected = invitation_reply(
            Translator(locale, runtime.settings.zone),
            dialogue,
            household,
            invitations[household.id].id,
        ).to_json()
        message = rows[str(500 + n)]
        assert message.body == expected
        assert message.key == f"invite:{d.id}:{household.id}:telegram"
        assert invitations[household.id].status == "invited"
        assert invitations[household.id].channel == "telegram"
    assert invitations[households[3].id].status == "letter"


async def test_two_clocks_ticking_at_once_fire_each_reminder_once(runtime, clock):
    households = await _households(runtime, count=3)
    d = await _dialogue(runtime, clock, total=3, priority=1)
    async with runtime.sessions() as session, session.begin():
        for n, household in enumerate(households):
            session.add(
                HouseholdLink(
                    household_id=household.id,
                    channel="telegram",
                    user_id=str(600 + n),
                    linked_at=clock(),
                    last_used_at=clock(),
                )
            )
        await inv.save_selection(
            session,
            dialogue_id=d.id,
            chosen=[(h.id, "priority", n) for n, h in enumerate(households)],
            waiting=[],
        )
        await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    clocks = [
        Ticker(runtime.sessions, clock=clock, zone=runtime.settings.zone, default_locale="vi")
        for _ in range(2)
    ]
    clock.advance(days=2, minutes=1)
    written = await asyncio.gather(*(c.tick() for c in clocks), *(c.tick() for c in clocks))
    assert sum(written) == 3
    from storage.models import OutboxMessage

    async with runtime.sessions() as session:
        keys = list(
            await session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.like("remind:%"))
            )
        )
    assert len(keys) == len(set(keys)) == 3


async def test_moving_or_cancelling_a_dialogue_tells_those_invited(telegram, clock):
    from storage.reminders import cancel_pending

    runtime = telegram.runtime
    households = await _households(runtime, count=2)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    chat = await _link(telegram, 430, households[0])
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session, dialogue_id=d.id, chosen=[(households[0].id, "priority", 0)], waiting=[]
        )
        await Invitations(runtime.notifier).invite(session, dialogue=d, now=clock())
    runtime.outbox.wake()
    await chat.expect(1)
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        dialogue.starts_at = dialogue.starts_at + timedelta(days=2, hours=5)
        await cancel_pending(session, dialogue_id=d.id)
        await schedule(session, dialogue=dialogue, offsets=[timedelta(days=1)], now=clock())
        assert (
            await Invitations(runtime.notifier).announce_move(
                session,
                dialogue=dialogue,
                now=clock(),
            )
            == 1
        )
    runtime.outbox.wake()
    [moved] = await chat.expect(1)
    assert moved.text.startswith("Thay đổi thời gian\n\nBuổi đối thoại đã được dời lịch")
    assert "14:00, Thứ Sáu, 27/11/2026" in moved.text
    async with runtime.sessions() as session, session.begin():
        dialogue = await session.get(type(d), d.id)
        assert (
            await Invitations(runtime.notifier).announce_cancellation(
                session,
                dialogue=dialogue,
                now=clock(),
            )
            == 1
        )
    runtime.outbox.wake()
    [cancelled] = await chat.expect(1)
    assert cancelled.text.startswith("Buổi đối thoại đã bị huỷ")
