"""Closing ended dialogues: the clock gives their unanswered questions the agencies' deadline
and tells each official once, whatever the number of processes ticking."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import func, select, update

from bot.clock import Ticker
from storage import staff as staff_store
from storage.dialogues import create_dialogue
from storage.models import Dialogue, OutboxMessage, Question, QuestionEvent, Staff
from storage.questions import add_question

TITLE = "Đối thoại giảm nghèo Phường 7"


async def _dialogue(runtime, clock):
    async with runtime.sessions() as session, session.begin():
        return await create_dialogue(
            session,
            title=TITLE,
            starts_at=clock() + timedelta(days=5),  # 09:00, Wednesday 25/11/2026
            venue="Hội trường UBND Phường 7",
            question_deadline=clock() + timedelta(days=4),
            wards=["Phường 7"],
        )


async def _set(runtime, ticket, **values):
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Question).where(Question.ticket == ticket).values(**values))


async def _give_role(runtime, user_id, *, agency):
    now = runtime.clock()
    async with runtime.sessions() as session, session.begin():
        _, code = await staff_store.invite(
            session,
            role="official",
            name="Cán bộ",
            agency=agency,
            now=now,
            valid_for=timedelta(days=7),
        )
        assert await staff_store.claim(
            session, code=code, channel="telegram", user_id=str(user_id), now=now
        )


def _ticker(runtime, clock):
    return Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        on_messages=runtime.outbox.wake,
        policy=runtime.settings.policy,
    )


async def test_an_ended_dialogue_sends_its_unanswered_questions_to_their_agencies_once(
    telegram, clock
):
    runtime = telegram.runtime
    dialogue = await _dialogue(runtime, clock)
    citizen = await telegram.consenting(1101, "Lan")
    tickets = {
        name: await telegram.ask(citizen, text, topic=topic)
        for name, text, topic in (
            ("approved", "Vì sao nhà có xe hơi vẫn được xếp hộ cận nghèo?", "Rà soát"),
            ("reopened", "Khi nào khóm 3 được rà soát lại hộ nghèo?", "Rà soát"),
            ("credit", "Xin hỏi thủ tục vay vốn học nghề cho con?", "Tín dụng"),
            ("answered", "Hộ mới thoát nghèo còn được hỗ trợ bảo hiểm y tế không?", "Rà soát"),
            ("new", "Câu hỏi này chưa được duyệt nên không chuyển đi.", "Rà soát"),
        )
    }
    for name in ("approved", "credit"):
        await _set(runtime, tickets[name], status="approved")
    await _set(runtime, tickets["reopened"], status="reopened")
    await _set(runtime, tickets["answered"], status="answered", answered_in_room=True)

    hoa = await telegram.staff(1102, role="official", agency="ldtbxh", name="Chị Hoa")
    anna = telegram.chat(1103, "Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English")
    await anna.press("I agree")
    await _give_role(runtime, 1103, agency="nhcsxh")
    health = await telegram.staff(1104, role="official", agency="yte")  # nothing for them
    gone = await telegram.staff(1105, role="official", agency="ldtbxh")
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Staff).where(Staff.user_id == "1105").values(revoked_at=clock())
        )

    ticker = _ticker(runtime, clock)
    clock.advance(days=5, hours=2)  # the dialogue is on (it lasts 150 minutes)
    assert await ticker.tick() == 0
    clock.advance(hours=1)  # it has ended
    assert await ticker.tick() == 2
    assert await ticker.tick() == 0  # a second tick finds it closed

    [told] = await hoa.expect(1)
    assert told.text == (
        "Câu hỏi chuyển đến cơ quan\n\n"
        f"2 câu hỏi của buổi đối thoại “{TITLE}” chưa được trả lời tại buổi đối thoại; "
        "đề nghị cơ quan trả lời, hạn đến Thứ Năm, 10/12/2026."
    )
    assert told.buttons == [[("📥 Hộp thư", "o:i")]]
    [english] = await anna.expect(1)
    assert english.text == (
        "Questions for your agency\n\n"
        f"1 question of the dialogue “{TITLE}” was not answered at the dialogue; please "
        "answer it by Thursday 10 December 2026."
    )
    await asyncio.sleep(0.3)
    for chat in (health, gone, citizen):
        assert len(telegram.fake.messages_to(chat.user_id)) == chat.seen

    async with runtime.sessions() as session:
        due = {
            q.ticket: q.due_on
            for q in await session.scalars(
                select(Question).where(Question.dialogue_id == dialogue.id)
            )
        }
        events = list(
            await session.scalars(select(QuestionEvent).where(QuestionEvent.kind == "due"))
        )
        closed_at = await session.scalar(
            select(Dialogue.closed_at).where(Dialogue.id == dialogue.id)
        )
    assert due == {
        tickets["approved"]: date(2026, 12, 10),
        tickets["reopened"]: date(2026, 12, 10),
        tickets["credit"]: date(2026, 12, 10),
        tickets["answered"]: None,
        tickets["new"]: None,
    }
    assert len(events) == 3 and {e.staff_id for e in events} == {None}
    assert {e.on for e in events} == {date(2026, 11, 25)}
    assert closed_at is not None


async def test_two_processes_ticking_at_once_tell_each_official_once(runtime, clock):
    dialogue = await _dialogue(runtime, clock)
    async with runtime.sessions() as session, session.begin():
        for n, (topic, agency) in enumerate(
            [("rasoat", "ldtbxh"), ("rasoat", "ldtbxh"), ("tindung", "nhcsxh")]
        ):
            question = await add_question(
                session,
                dialogue_id=dialogue.id,
                topic=topic,
                agency=agency,
                text=f"Câu hỏi số {n} chưa được trả lời tại buổi đối thoại.",
                submitted_on=clock().date(),
                asker_hash=f"{n:064x}",
                reply_handle=b"sealed",
            )
            question.status = "approved"
    for user_id, agency in ((1201, "ldtbxh"), (1202, "ldtbxh"), (1203, "nhcsxh")):
        await _give_role(runtime, user_id, agency=agency)
    tickers = [_ticker(runtime, clock) for _ in range(2)]
    clock.advance(days=5, hours=3)
    written = await asyncio.gather(*(t.tick() for t in tickers), *(t.tick() for t in tickers))
    assert sum(written) == 3
    async with runtime.sessions() as session:
        keys = list(
            await session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.like("closing:%"))
            )
        )
        events = await session.scalar(
            select(func.count()).select_from(QuestionEvent).where(QuestionEvent.kind == "due")
        )
    assert len(keys) == len(set(keys)) == 3
    assert all(key.startswith(f"closing:{dialogue.id}:") for key in keys)
    assert events == 3  # closed once: no question got two deadlines
