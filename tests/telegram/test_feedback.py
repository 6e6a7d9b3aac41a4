""" "Hài lòng" / "Chưa hài lòng": once per person and item, only from those the news went to;
a reason sends the question back to the facilitator."""

from __future__ import annotations

import logging

from sqlalchemy import select

from storage.models import Conversation, Feedback, QuestionEvent
from tests.telegram.test_inbox import TODAY, approve, follow, open_card, question, replay, vi


async def _answered(telegram, *, asker_id: int, follower_id: int, official_id: int):
    """An anonymous question, a follower, and its published answer received by both."""
    asker = await telegram.consenting(asker_id, "Lan")
    follower = await telegram.consenting(follower_id, "Hoa")
    official = await telegram.staff(official_id, role="official", agency="ldtbxh")
    ticket = await telegram.ask(asker, "Vì sao hộ tôi không còn trong danh sách cận nghèo?")
    await approve(telegram, ticket)
    await follow(telegram, ticket, follower_id)
    await open_card(official, ticket)
    await official.press(vi("✍️ Answer"))
    await official.say("Hộ của bạn có thu nhập vượt chuẩn cận nghèo theo kết quả rà soát.")
    await official.press(vi("📢 Publish"))
    await asker.expect(1)
    await follower.expect(1)
    return asker, follower, official, ticket


async def _feedback(telegram) -> list[Feedback]:
    async with telegram.runtime.sessions() as session:
        return list(await session.scalars(select(Feedback).order_by(Feedback.id)))


async def test_satisfied_is_recorded_once_under_the_persons_keyed_hash(telegram):
    asker, follower, _, ticket = await _answered(
        telegram, asker_id=4301, follower_id=4302, official_id=4303
    )
    satisfied = asker.button(vi("😊 Satisfied"))
    [thanks] = await asker.press(vi("😊 Satisfied"))
    assert thanks.text == vi("Thank you for telling us. We are glad the answer helps.")
    [again] = await replay(telegram, asker, satisfied)
    assert vi("You have already answered this.") in again.text
    [also] = await follower.press(vi("😊 Satisfied"))
    assert also.text == thanks.text

    [first, second] = await _feedback(telegram)
    assert first.satisfied and second.satisfied and first.about == second.about
    assert first.giver_hash != second.giver_hash and first.given_on == TODAY
    assert first.reason == ""
    assert (await question(telegram, ticket)).status == "answered"


async def test_not_satisfied_with_a_reason_reopens_the_question_for_the_facilitator(telegram):
    asker, _, official, ticket = await _answered(
        telegram, asker_id=4311, follower_id=4312, official_id=4313
    )
    [why] = await asker.press(vi("🙁 Not satisfied"))
    assert vi("I need more detail") in why.button_texts
    assert vi("The answer does not address my question") in why.button_texts
    [noted] = await asker.press(vi("I need more detail"))
    assert ticket in noted.text

    [given] = await _feedback(telegram)
    assert not given.satisfied and given.reason == vi("I need more detail")
    found = await question(telegram, ticket)
    assert found.status == "reopened" and found.reopen_reason == vi("I need more detail")
    async with telegram.runtime.sessions() as session:
        event = await session.scalar(select(QuestionEvent).where(QuestionEvent.kind == "reopened"))
        states = list(await session.scalars(select(Conversation)))
    assert event is not None and event.staff_id is None and event.on == TODAY
    assert not any(ticket in str(state.data) for state in states)
    # Back with the facilitator: out of the official's inbox.
    [inbox] = await official.say("/hopthu")
    assert f"#{ticket}" not in inbox.text
    [mine] = await asker.say("/cauhoi")
    assert vi("being looked at again") in mine.text


async def test_a_typed_reason_is_kept_and_the_chat_holds_nothing_of_the_question(telegram):
    _, follower, _, ticket = await _answered(
        telegram, asker_id=4321, follower_id=4322, official_id=4323
    )
    await follower.press(vi("🙁 Not satisfied"))
    [noted] = await follower.say("Tôi muốn biết cụ thể mức thu nhập được tính thế nào.")
    assert ticket in noted.text
    [given] = await _feedback(telegram)
    assert given.reason == "Tôi muốn biết cụ thể mức thu nhập được tính thế nào."
    found = await question(telegram, ticket)
    assert found.status == "reopened" and found.reopen_reason == given.reason
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(Conversation))) == []


async def test_feedback_from_someone_unrelated_is_refused_and_logged(telegram, caplog):
    caplog.set_level(logging.WARNING)
    asker, _, _, ticket = await _answered(
        telegram, asker_id=4331, follower_id=4332, official_id=4333
    )
    stranger = await telegram.consenting(4334, "Tuấn")
    for choice in (vi("😊 Satisfied"), vi("🙁 Not satisfied")):
        [refused] = await replay(telegram, stranger, asker.button(choice))
        assert vi("Only the people who asked or follow this question can give feedback on it.") in (
            refused.text
        )
    assert await _feedback(telegram) == []
    assert (await question(telegram, ticket)).status == "answered"
    assert any("refused feedback" in r.getMessage() for r in caplog.records)
