"""Push-back: answers and commitments reach the asker (anonymous ones through the sealed
handle), the askers merged in and every follower, each in their language, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update
from telegram import Update

from bot.services.pushback import PushBack
from storage.dialogues import general_intake
from storage.models import Answer, Commitment, Question
from tests.telegram.test_inbox import TODAY, approve, follow, open_card, question, vi

ANSWER = "Danh sách hộ cận nghèo được niêm yết tại UBND phường từ ngày 30/11/2026."


async def _publish_an_answer(telegram, official, ticket: str, text: str = ANSWER):
    await open_card(official, ticket)
    await official.press(vi("✍️ Answer"))
    await official.say(text)
    return telegram.fake.press(official.user_id, official.button(vi("📢 Publish")))


async def _again(telegram, runtime, *, ticket: str) -> tuple[int, int]:
    """Publish the stored answer and commitment of a question once more, as a retried job
    would: how many new messages each writes."""
    async with runtime.sessions() as session, session.begin():
        found = await session.scalar(select(Question).where(Question.ticket == ticket))
        answer = await session.scalar(select(Answer).where(Answer.question_id == found.id))
        commitment = await session.scalar(
            select(Commitment).where(Commitment.question_id == found.id)
        )
        common = dict(
            question=found,
            now=runtime.clock(),
        )
        answers = (
            await PushBack(runtime.notifier).answer(session, answer=answer, **common)
            if answer
            else 0
        )
        commitments = (
            await PushBack(runtime.notifier).commitment(session, commitment=commitment, **common)
            if commitment
            else 0
        )
    return answers, commitments


async def test_an_anonymous_asker_and_a_follower_receive_the_answer_exactly_once(telegram):
    asker = await telegram.consenting(4201, "Thạch", "Sô Phia")
    follower = await telegram.consenting(4202, "Hoa")
    bystander = await telegram.consenting(4203, "Minh")
    official = await telegram.staff(4204, role="official", agency="ldtbxh", name="Chị Hoa")
    ticket = await telegram.ask(asker, "Khi nào công bố danh sách hộ cận nghèo năm nay?")
    await approve(telegram, ticket)
    await follow(telegram, ticket, 4202)

    publish = await _publish_an_answer(telegram, official, ticket)
    [done] = await official.expect(1)
    assert "2" in done.text

    for chat in (asker, follower):
        [news] = await chat.expect(1)
        assert vi("Your question has an answer") in news.text
        assert f"#{ticket}" in news.text and "Khi nào công bố danh sách" in news.text
        assert vi("Labour, Invalids and Social Affairs Office") in news.text
        assert ANSWER in news.text
        # (a "🔊 Nghe" row follows where espeak-ng is installed: test_voice.py)
        assert news.button_texts[:2] == [vi("😊 Satisfied"), vi("🙁 Not satisfied")]
        assert all(len(data.encode()) <= 64 for row in news.buttons for _, data in row)
        assert news.buttons[0][0][1].startswith(f"f:{ticket}:a")
    # The same update delivered again, and the answer published again: nobody hears twice.
    app = telegram.channel.application
    await app.process_update(Update.de_json(publish, app.bot))
    assert await _again(telegram, telegram.runtime, ticket=ticket) == (0, 0)
    await asyncio.sleep(0.5)
    for chat in (asker, follower, official):
        assert len(telegram.fake.messages_to(chat.user_id)) == chat.seen
    assert len(telegram.fake.messages_to(bystander.user_id)) == bystander.seen


async def test_each_person_reads_the_news_in_their_own_language(telegram):
    asker = await telegram.consenting(4211, "Lan")
    english = telegram.chat(4212, "Anna", language_code="en")
    await english.say("/start")
    await english.press("English")
    await english.press("I agree")
    official = await telegram.staff(4213, role="official", agency="ldtbxh")
    ticket = await telegram.ask(asker, "Hộ nghèo được hỗ trợ tiền điện thế nào?")
    await approve(telegram, ticket)
    await follow(telegram, ticket, 4212)
    await _publish_an_answer(telegram, official, ticket)
    await official.expect(1)
    [vietnamese] = await asker.expect(1)
    [translated] = await english.expect(1)
    assert vi("Your question has an answer") in vietnamese.text
    assert "Your question has an answer" in translated.text
    assert translated.button_texts[:2] == ["😊 Satisfied", "🙁 Not satisfied"]


async def test_the_askers_of_a_merged_question_hear_of_the_kept_ones_commitment(telegram):
    first = await telegram.consenting(4221, "Lan")
    second = await telegram.consenting(4222, "Hùng")
    official = await telegram.staff(4223, role="official", agency="ldtbxh")
    kept = await telegram.ask(first, "Đường vào khóm 4 ngập nước, khi nào sửa?")
    joined = await telegram.ask(
        second, "Khóm 4 ngập mỗi khi mưa, phường có kế hoạch gì?", anonymous=False
    )
    await approve(telegram, kept)
    kept_id = (await question(telegram, kept)).id
    async with telegram.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Question)
            .where(Question.ticket == joined)
            .values(status="merged", merged_into=kept_id)
        )
    await open_card(official, kept)
    await official.press(vi("🤝 Commitment"))
    await official.say("Nạo vét cống thoát nước khóm 4.")
    await official.press("15")
    await official.say("Tổ dân phố khóm 4")
    await official.press(vi("📢 Publish"))
    for chat in (first, second):
        [news] = await chat.expect(1)
        assert vi("A commitment was made") in news.text and "Nạo vét cống" in news.text
        assert f"#{kept}" in news.text
    [mine] = await second.say("/cauhoi")
    assert vi("joined to #{ticket}").format(ticket=kept) in mine.text


async def test_a_commitment_tied_to_no_question_is_not_pushed(telegram):
    runtime = telegram.runtime
    async with runtime.sessions() as session, session.begin():
        commitment = Commitment(
            dialogue_id=(await general_intake(session)).id,
            question_id=None,
            agency="ubnd",
            content="Lắp đèn đường khóm 2",
            due_on=TODAY + timedelta(days=30),
            responsible="UBND phường",
            made_at=runtime.clock(),
            updated_at=runtime.clock(),
        )
        session.add(commitment)
        await session.flush()
        stand_in = Question(id="0" * 32, ticket="AAAAAA", text="", anonymous=True)
        written = await PushBack(runtime.notifier).commitment(
            session,
            commitment=commitment,
            question=stand_in,
            now=runtime.clock(),
        )
    assert written == 0


async def test_my_questions_shows_the_new_statuses_and_the_answer(telegram):
    lan = await telegram.consenting(4231, "Lan")
    official = await telegram.staff(4232, role="official", agency="ldtbxh")
    answered = await telegram.ask(lan, "Khi nào có kết quả rà soát hộ nghèo?")
    rejected = await telegram.ask(lan, "Câu hỏi không phù hợp để hỏi ở đây.")
    await approve(telegram, answered)
    async with telegram.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Question)
            .where(Question.ticket == rejected)
            .values(status="rejected", reject_reason="Không thuộc nội dung đối thoại")
        )
    await _publish_an_answer(telegram, official, answered)
    await official.expect(1)
    await lan.expect(1)
    [mine] = await lan.say("/cauhoi")
    assert vi("answered") in mine.text and "niêm yết tại UBND phường" in mine.text
    assert "Không thuộc nội dung đối thoại" in mine.text
