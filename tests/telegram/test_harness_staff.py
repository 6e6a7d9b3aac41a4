"""The harness's own shortcuts work: a question asked through the chat, a staff role given."""

from sqlalchemy import select

from storage.models import Question, Staff


async def test_a_question_asked_through_the_harness_is_stored_with_its_ticket(telegram):
    lan = await telegram.consenting(7001, "Lan")
    ticket = await telegram.ask(lan, "Xin hỏi về việc rà soát hộ nghèo năm nay ở khóm 3?")
    official = await telegram.staff(7002, role="official", agency="ldtbxh", name="Chị Hoa")
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
        staff = await session.scalar(select(Staff).where(Staff.user_id == "7002"))
    assert question is not None and question.anonymous and question.account_id is None
    assert staff is not None and staff.role == "official" and staff.claimed_at is not None
    assert official.user_id == 7002
