"""The facilitators' daily digest and the officials' overdue reminders: once a day from the
clock, whatever the number of processes; /baocao on demand; numbers that match the ward's
questions and nothing that identifies an asker. End to end through the Bot API fake."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter

import bot.services.digest
from bot.clock import Ticker
from bot.core.config import Policy
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Delivery, Reply, SendResult, merge
from bot.documents.chart import Bars, DigestChart, render
from storage import digest as store
from storage import invitations as inv
from storage import staff as staff_store
from storage.dialogues import create_dialogue, general_intake
from storage.households import HouseholdRow, upsert_households
from storage.models import (
    Account,
    Answer,
    Commitment,
    DailyJob,
    Household,
    HouseholdLink,
    Invitation,
    OutboxMessage,
    Question,
)
from storage.questions import add_question
from tests.fakes.telegram_api import FakeBotAPI

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WARD = "Phường 7"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VI = Translator("vi", ZONE)
# The clock fixture starts on Friday 20/11/2026 at 09:00 in Hà Nội.
DAY_1 = date(2026, 11, 20)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def ticker(runtime, clock) -> Ticker:
    return Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        on_messages=runtime.outbox.wake,
        policy=runtime.settings.policy,
    )


def report_title(day: date) -> str:
    return "📊 " + VI._("Report of {date}").format(date=VI.short_date(day))


async def _question(
    session,
    *,
    topic: str,
    status: str,
    submitted_on: date,
    agency: str = "ldtbxh",
    dialogue_id: int | None = None,
    due_on: date | None = None,
    text: str = "Một câu hỏi về chính sách của phường",
) -> Question:
    if dialogue_id is None:
        dialogue_id = (await general_intake(session)).id
    question = await add_question(
        session,
        dialogue_id=dialogue_id,
        topic=topic,
        agency=agency,
        text=text,
        submitted_on=submitted_on,
        asker_hash="h" * 64,
        reply_handle=b"sealed",
    )
    question.status, question.due_on = status, due_on
    await session.flush()
    return question


# ---------------------------------------------------------------- exactly once a day


async def test_the_digest_reaches_each_facilitator_once_a_day_at_seven_with_its_chart(
    telegram, clock
):
    runtime = telegram.runtime
    facilitator = await telegram.staff(700, role="facilitator", ward=WARD, name="Chị Mai")
    other_ward = await telegram.staff(701, role="facilitator", ward="Phường 9")
    first, second = ticker(runtime, clock), ticker(runtime, clock)  # two processes

    day_2 = DAY_1 + timedelta(days=1)
    clock.at(at(day_2, 6, 30))  # the service was down on day 1 after 07:00: not made up
    assert await first.tick() == 0
    assert await second.tick() == 0

    clock.at(at(day_2, 7) + timedelta(seconds=5))
    written = await asyncio.gather(first.tick(), second.tick())
    assert sorted(written) == [0, 2]  # one digest each, written by one process only
    for chat, ward in ((facilitator, WARD), (other_ward, "Phường 9")):
        photo, text = await chat.expect(2)
        assert photo.photo[:8] == PNG_MAGIC and len(photo.photo) > 10_000
        assert photo.text == report_title(day_2)
        assert text.text.startswith(f"📍 {ward}\n")

    assert await first.tick() == 0
    assert await second.tick() == 0
    clock.advance(hours=10)  # the evening: still day 2
    assert await second.tick() == 0

    clock.at(at(day_2 + timedelta(days=1), 7, 30))
    assert await second.tick() == 2
    assert await first.tick() == 0
    [photo, _text] = await facilitator.expect(2)
    assert photo.text == report_title(day_2 + timedelta(days=1))
    await other_ward.expect(2)

    async with runtime.sessions() as session:
        keys = sorted(await session.scalars(select(DailyJob.key)))
        outbox_keys = set(await session.scalars(select(OutboxMessage.key)))
    assert len(keys) == 4 and all(k.startswith("digest:") for k in keys)
    assert set(keys) <= outbox_keys


async def test_a_revoked_facilitator_gets_no_digest(telegram, clock):
    runtime = telegram.runtime
    chat = await telegram.staff(702, role="facilitator", ward=WARD)
    async with runtime.sessions() as session, session.begin():
        [staff] = await store.active_staff(session, role="facilitator")
        staff.revoked_at = clock()
    clock.at(at(DAY_1 + timedelta(days=1), 8))
    assert await ticker(runtime, clock).tick() == 0
    await asyncio.sleep(0.3)
    assert len(telegram.fake.messages_to(chat.user_id)) == chat.seen


async def test_the_digest_time_comes_from_the_policy(runtime, clock):
    late = Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        policy=Policy(digest_time=time(9, 30)),
    )
    async with runtime.sessions() as session, session.begin():
        _, code = await staff_store.invite(
            session,
            role="facilitator",
            name="Chị Mai",
            ward=WARD,
            now=clock(),
            valid_for=timedelta(days=1),
        )
        await staff_store.claim(session, code=code, channel="telegram", user_id="703", now=clock())
    assert await late.tick() == 0  # 09:00
    clock.advance(minutes=31)
    assert await late.tick() == 1


async def test_a_digest_that_fails_is_tried_again_and_the_others_still_go(
    runtime, clock, monkeypatch, caplog
):
    for user_id, ward in (("704", WARD), ("705", "Phường 9")):
        async with runtime.sessions() as session, session.begin():
            _, code = await staff_store.invite(
                session,
                role="facilitator",
                name="Thúc đẩy viên",
                ward=ward,
                now=clock(),
                valid_for=timedelta(days=1),
            )
            await staff_store.claim(
                session, code=code, channel="telegram", user_id=user_id, now=clock()
            )
    real = bot.services.digest.chart.render
    calls = []

    def render_once_broken(data: DigestChart) -> bytes:
        calls.append(data.subtitle)
        if len(calls) == 1:
            raise RuntimeError("the chart could not be drawn")
        return real(data)

    monkeypatch.setattr(bot.services.digest.chart, "render", render_once_broken)
    tick = ticker(runtime, clock)
    assert await tick.tick() == 1  # the first failed, the second went
    assert "daily message digest:" in caplog.text
    assert await tick.tick() == 1  # the failed one, again
    assert await tick.tick() == 0
    async with runtime.sessions() as session:
        keys = set(await session.scalars(select(DailyJob.key)))
        recipients = set(await session.scalars(select(OutboxMessage.recipient)))
    assert len(keys) == 2 and recipients == {"704", "705"}


# ---------------------------------------------------------------- what the digest says


async def _ward_with_everything(telegram, clock) -> dict[str, object]:
    """Questions of every kind in the ward (two asked through the bot on day 1, one of them
    anonymously), an overdue commitment, another ward's question, and an upcoming dialogue
    with its invitations; returns what the test needs to look for."""
    runtime = telegram.runtime
    anonymous = await telegram.consenting(801, "Thạch", "Sa Ly")
    named = await telegram.consenting(802, "Nguyễn", "Văn Hai")
    anonymous_text = "Hộ tôi bị loại khỏi danh sách cận nghèo mà không ai giải thích"
    named_text = "Xin hỏi thủ tục vay vốn học sinh sinh viên năm nay"
    await telegram.ask(anonymous, anonymous_text, topic="Rà soát", anonymous=True)
    await telegram.ask(named, named_text, topic="Tín dụng", anonymous=False)

    now = clock()
    async with runtime.sessions() as session, session.begin():
        overdue = await _question(
            session,
            topic="rasoat",
            status="approved",
            submitted_on=date(2026, 11, 10),
            due_on=date(2026, 11, 19),
        )
        answered = await _question(
            session, topic="tindung", status="answered", submitted_on=date(2026, 11, 15)
        )
        session.add(
            Answer(
                question_id=answered.id,
                agency="nhcsxh",
                text="Đã trả lời",
                published_at=at(DAY_1, 10),
            )
        )
        committed = await _question(
            session, topic="giamngheo", status="committed", submitted_on=date(2026, 11, 10)
        )
        session.add(
            Commitment(
                dialogue_id=committed.dialogue_id,
                question_id=committed.id,
                agency="ldtbxh",
                content="Hỗ trợ con giống trước Tết",
                due_on=date(2026, 11, 18),
                made_at=at(date(2026, 11, 12), 9),
                updated_at=at(date(2026, 11, 12), 9),
            )
        )
        await _question(session, topic="yte", status="reopened", submitted_on=date(2026, 11, 19))
        await _question(session, topic="yte", status="rejected", submitted_on=DAY_1)

        elsewhere = await create_dialogue(
            session,
            title="Đối thoại Phường 9",
            starts_at=now + timedelta(days=3),
            venue="UBND Phường 9",
            wards=["Phường 9"],
        )
        await _question(
            session,
            topic="rasoat",
            status="new",
            submitted_on=DAY_1,
            dialogue_id=elsewhere.id,
        )

        dialogue = await create_dialogue(
            session,
            title="Đối thoại giảm nghèo Phường 7",
            starts_at=now + timedelta(days=5),
            venue="Hội trường UBND Phường 7",
            question_deadline=now - timedelta(days=1),  # questions go to the general intake
            wards=[WARD],
            quota_total=6,
            quota_priority=4,
        )
        await upsert_households(
            session,
            rows=[
                HouseholdRow(
                    code=f"P7-{n}",
                    head_name=f"Chủ hộ {n}",
                    gender="female",
                    ethnicity="Khmer",
                    category="poor" if n < 4 else "other",
                    ward=WARD,
                    hamlet="Khóm 1",
                    phone=None,
                )
                for n in range(6)
            ],
        )
        households = list(await session.scalars(select(Household).order_by(Household.code)))
        await inv.save_selection(
            session,
            dialogue_id=dialogue.id,
            chosen=[(h.id, "priority" if n < 4 else "other", n) for n, h in enumerate(households)],
            waiting=[],
        )
        statuses = ["accepted", "accepted", "declined", "invited", "accepted", "letter"]
        for household, status in zip(households, statuses, strict=True):
            await session.execute(
                update(Invitation)
                .where(Invitation.household_id == household.id)
                .values(status=status, channel="telegram" if status != "letter" else None)
            )
        # The household still to answer has blocked the bot since it was invited.
        session.add(
            HouseholdLink(
                household_id=households[3].id,
                channel="telegram",
                user_id="990",
                linked_at=now,
                last_used_at=now,
            )
        )
        session.add(
            Account(
                channel="telegram",
                user_id="990",
                display_name="Chủ hộ 3",
                locale="vi",
                asker_salt=b"s" * 32,
                consented_on=DAY_1,
                unreachable_at=now,
            )
        )
    return {
        "private": [
            "Thạch",
            "Sa Ly",
            "Nguyễn",
            "Văn Hai",
            "801",
            "802",
            anonymous_text,
            named_text,
            overdue.text,
        ],
        "overdue_ticket": overdue.ticket,
    }


async def test_the_digest_counts_the_wards_questions_and_shows_nobody_who_asked(telegram, clock):
    runtime = telegram.runtime
    seen = await _ward_with_everything(telegram, clock)
    facilitator = await telegram.staff(710, role="facilitator", ward=WARD)
    day_2 = DAY_1 + timedelta(days=1)
    clock.at(at(day_2, 7, 1))

    async with runtime.sessions() as session:
        numbers = await store.ward_digest(session, ward=WARD, day=day_2, now=clock(), zone=ZONE)
    assert numbers.new_by_topic == {"rasoat": 1, "tindung": 1, "yte": 1}
    assert (numbers.new, numbers.reopened, numbers.waiting) == (2, 1, 1)
    assert (numbers.answered, numbers.committed, numbers.answered_yesterday) == (1, 1, 1)
    assert numbers.by_topic == {
        "rasoat": {"moderation": 1, "waiting": 1, "answered": 0, "committed": 0},
        "tindung": {"moderation": 1, "waiting": 0, "answered": 1, "committed": 0},
        "giamngheo": {"moderation": 0, "waiting": 0, "answered": 0, "committed": 1},
        "yte": {"moderation": 1, "waiting": 0, "answered": 0, "committed": 0},
    }
    assert numbers.overdue == [store.OverdueCount("ldtbxh", questions=1, commitments=1)]
    [tally] = numbers.invitations
    assert (tally.accepted, tally.priority_accepted, tally.declined) == (3, 2, 1)
    assert (tally.no_answer, tally.letters, tally.unreachable) == (1, 1, 1)

    assert await ticker(runtime, clock).tick() == 1
    photo, digest = await facilitator.expect(2)
    assert photo.photo[:8] == PNG_MAGIC
    _ = VI._
    yesterday = VI.short_date(DAY_1)
    lines = digest.text.splitlines()
    for expected in (
        f"📍 {WARD}",
        _("New questions on {date}: {count}").format(date=yesterday, count=3),
        _("Waiting for moderation: {count}").format(count=2),
        _("Reopened (not satisfied): {count}").format(count=1),
        _("Waiting for an agency's answer: {count}").format(count=1),
        _("Answered: {count} (on {date}: {yesterday})").format(
            count=2, date=yesterday, yesterday=1
        ),
        _("⏰ Overdue (questions / commitments):"),
        f"🗓 Đối thoại giảm nghèo Phường 7 · {VI.short_date(date(2026, 11, 25))}",
        _(
            "Accepted: {accepted}/{total} households (priority group: "
            "{priority_accepted}/{priority})"
        ).format(accepted=3, total=6, priority_accepted=2, priority=4),
        _("Declined: {declined} · no answer yet: {waiting} · letters: {letters}").format(
            declined=1, waiting=1, letters=1
        ),
        _("Unreachable households: {count}").format(count=1),
    ):
        assert expected in lines, (expected, lines)
    assert f"  • {VI._('Survey of poor and near-poor households')}: 1" in lines
    assert f"  • {VI._('Labour, Invalids and Social Affairs Office')}: 1 / 1" in lines
    assert len(lines) <= 25
    assert digest.button_texts == [VI._("🗂 Moderate questions")]
    everything_shown = photo.text + digest.text + photo.raw_text + digest.raw_text
    for private in seen["private"]:
        assert private not in everything_shown
    assert seen["overdue_ticket"] not in everything_shown  # no question is singled out


async def test_baocao_gives_the_digest_at_once_and_the_daily_one_still_comes(telegram, clock):
    runtime = telegram.runtime
    facilitator = await telegram.staff(720, role="facilitator", ward=WARD)
    photo, text = await facilitator.say("/baocao", expect=2)
    assert photo.photo[:8] == PNG_MAGIC and photo.text == report_title(DAY_1)
    assert VI._("✅ Nothing overdue.") in text.text.splitlines()
    assert VI._("No upcoming dialogue in your ward.") in text.text.splitlines()
    await facilitator.say("/digest", expect=2)  # the English alias
    telegram.fake.press(720, "d:n", message_id=text.message_id)  # a menu's entry button
    await facilitator.expect(2)

    assert await ticker(runtime, clock).tick() == 1  # 09:00: today's daily digest still comes
    await facilitator.expect(2)


async def test_a_citizen_asking_for_the_digest_is_refused_and_it_is_logged(telegram, clock, caplog):
    caplog.set_level(logging.WARNING, logger="handlers.roles")
    citizen = await telegram.consenting(730, "Lan")
    for command in ("/baocao", "/digest"):
        [refused] = await citizen.say(command)
        assert refused.text == VI._("This is for officials and facilitators only.")
        assert refused.photo == b""
    telegram.fake.press(730, "d:n", message_id=refused.message_id)  # a replayed button
    [refused] = await citizen.expect(1)
    assert refused.text == VI._("This is for officials and facilitators only.")
    official = await telegram.staff(731, role="official", agency="ldtbxh")
    [refused] = await official.say("/baocao")
    assert refused.text == VI._(
        "This is for the ward's facilitator; you are an official of your agency. Type "
        "/trogiup to see what you can do."
    )
    refusals = [r for r in caplog.records if "refused digest" in r.getMessage()]
    assert len(refusals) == 4
    assert all("730" not in r.getMessage() and "731" not in r.getMessage() for r in refusals)


# ---------------------------------------------------------------- officials' overdue reminder


async def test_officials_are_reminded_of_their_agencys_overdue_items_once_a_day(telegram, clock):
    runtime = telegram.runtime
    official = await telegram.staff(740, role="official", agency="ldtbxh", name="Chị Hoa")
    colleague = await telegram.staff(741, role="official", agency="ldtbxh", name="Anh Tư")
    other_agency = await telegram.staff(742, role="official", agency="yte")
    async with runtime.sessions() as session, session.begin():
        late = await _question(
            session,
            topic="rasoat",
            status="approved",
            submitted_on=date(2026, 11, 1),
            due_on=date(2026, 11, 19),
            text="Vì sao hộ tôi không được\nxét cận nghèo năm nay dù thu nhập thấp hơn chuẩn rất nhiều?",
        )
        await _question(  # due today: not overdue yet
            session,
            topic="rasoat",
            status="approved",
            submitted_on=date(2026, 11, 1),
            due_on=DAY_1,
        )
        await _question(  # answered: nothing to remind
            session,
            topic="rasoat",
            status="answered",
            submitted_on=date(2026, 11, 1),
            due_on=date(2026, 11, 2),
        )
        session.add(
            Commitment(
                dialogue_id=late.dialogue_id,
                question_id=None,
                agency="ldtbxh",
                content="Tổ chức lớp dạy nghề may cho phụ nữ Khóm 3",
                due_on=date(2026, 11, 15),
                made_at=at(date(2026, 10, 30), 9),
                updated_at=at(date(2026, 10, 30), 9),
            )
        )
    clock.at(at(DAY_1, 9, 5))
    tick = ticker(runtime, clock)
    assert await tick.tick() == 2  # the two officials of the agency

    for chat in (official, colleague):
        [reminder] = await chat.expect(1)
        assert reminder.text.startswith(
            VI._("⏰ Overdue: {agency}").format(
                agency=VI._("Labour, Invalids and Social Affairs Office")
            )
        )
        lines = reminder.text.splitlines()
        assert (
            VI._("#{ticket} · due {date} · “{excerpt}”").format(
                ticket=late.ticket,
                date="19/11/2026",
                excerpt="Vì sao hộ tôi không được xét cận nghèo năm nay dù thu nhập…",
            )
            in lines
        )
        assert (
            VI._("Commitment · due {date} · “{excerpt}”").format(
                date="15/11/2026", excerpt="Tổ chức lớp dạy nghề may cho phụ nữ Khóm 3"
            )
            in lines
        )
        assert (
            VI._("Questions without an answer past their deadline: {count}").format(count=1)
            in lines
        )
        assert reminder.buttons == [[(VI._("📥 Inbox"), "o:i")]]
    assert await tick.tick() == 0
    assert await ticker(runtime, clock).tick() == 0
    await asyncio.sleep(0.3)
    assert len(telegram.fake.messages_to(other_agency.user_id)) == other_agency.seen

    clock.advance(days=1)
    assert await tick.tick() == 2
    await official.expect(1)
    await colleague.expect(1)


# ---------------------------------------------------------------- images through the channel


async def test_a_reply_with_a_photo_goes_as_the_photo_then_the_text(telegram):
    chat = await telegram.consenting(750)
    png = _small_chart()
    title = "Báo cáo <ngày> & " + "rất dài " * 200
    delivery = await telegram.channel.send(
        Address("telegram", "750"),
        Reply(text="Nội dung <b>", title=title, photo=png, buttons=((Button("Xem", "d:n"),),)),
    )
    assert delivery == Delivery(SendResult.SENT)
    photo, text = await chat.expect(2)
    assert photo.photo == png
    assert photo.text.startswith("Báo cáo <ngày> & rất dài") and photo.text.endswith("…")
    assert len(photo.text.encode("utf-16-le")) // 2 <= 1024
    assert text.text == "Nội dung <b>" and text.buttons == [[("Xem", "d:n")]]
    assert photo.buttons == []

    only_photo = await telegram.channel.send(Address("telegram", "750"), Reply("", photo=png))
    assert only_photo.result is SendResult.SENT
    [alone] = await chat.expect(1)
    assert alone.photo == png and alone.text == ""

    telegram.fake.block(750)
    blocked = await telegram.channel.send(Address("telegram", "750"), Reply("x", photo=png))
    assert blocked.result is SendResult.UNREACHABLE


def _small_chart() -> bytes:
    return render(
        DigestChart(
            title="Báo cáo",
            subtitle=WARD,
            topics_heading="Câu hỏi",
            states=("a", "b"),
            topics=(Bars("Tín dụng", (1, 2)),),
        )
    )


def test_a_photo_survives_the_outbox_and_is_never_joined_to_another_reply():
    png = PNG_MAGIC + b"rest"
    reply = Reply(text="Số liệu", title="Báo cáo", photo=png)
    assert Reply.from_json(reply.to_json()) == reply
    assert "photo" not in Reply(text="x").to_json()
    joined = merge([Reply("Trước"), reply, Reply("Sau")])
    assert [r.text for r in joined] == ["Trước", "Số liệu", "Sau"]
    assert [r.photo for r in joined] == [b"", png, b""]


async def test_the_fake_refuses_photos_telegram_would_refuse():
    png = _small_chart()
    fake = FakeBotAPI().start()
    try:
        fake.add_private_chats([42, 43])
        async with Bot(fake.token, base_url=f"{fake.url}/bot") as bot:
            message = await bot.send_photo(42, photo=png, caption="x" * 1024, filename="a.png")
            assert message.photo[-1].width == 900 and message.photo[-1].height == 1200
            assert fake.messages_to(42)[0].photo == png
            with pytest.raises(BadRequest, match="(?i)caption is too long"):
                await bot.send_photo(42, photo=png, caption="x" * 1025)
            with pytest.raises(BadRequest, match="(?i)no photo"):
                await bot.send_photo(42, photo="")
            with pytest.raises(BadRequest, match="(?i)image_process_failed"):
                await bot.send_photo(42, photo=b"not an image", filename="a.png")
            with pytest.raises(BadRequest, match="(?i)chat not found"):
                await bot.send_photo(44, photo=png)
            fake.block(43)
            with pytest.raises(Forbidden):
                await bot.send_photo(43, photo=png)
            fake.set_rate_limit(per_chat_per_second=1)
            await asyncio.sleep(1.1)  # the photo above is out of the window
            await bot.send_message(42, "một")
            with pytest.raises(RetryAfter):
                await bot.send_photo(42, photo=png)  # counted with the messages
    finally:
        fake.stop()
    assert len(fake.violations) == 4  # the blocked chat and the rate limit are expected
