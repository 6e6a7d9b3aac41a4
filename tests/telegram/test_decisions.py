"""A dialogue's adoption decisions (tiếp thu) taken back to the people of a proposal: the
organiser records a decision with `doithoai dialogue decide`, and the anonymous asker (through
the sealed handle) and every follower read it once, each in their language, with nothing that
names the asker anywhere the organiser or the outbox can see."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from storage import answers, staff
from storage.models import OutboxMessage, QuestionEvent
from tests.support.cli import in_process
from tests.telegram.test_inbox import approve, follow, question, vi

PROPOSAL = "Đề nghị hỗ trợ thêm tiền điện cho hộ cận nghèo trong mùa nắng nóng."
REASON = "Mức hỗ trợ do Chính phủ quy định, phường không tự tăng được."
CHANGE = "Phường sẽ kiến nghị lên thành phố trong báo cáo quý I/2027."


async def _doithoai(telegram, tmp_path, *args: str):
    """The command run as the organiser would, on the bot's database and key (in a thread:
    it runs its own event loop)."""
    settings = telegram.runtime.settings
    return await asyncio.to_thread(
        in_process,
        tmp_path,
        *args,
        DOITHOAI_DATABASE_URL=settings.database_url,
        DOITHOAI_SECRET_KEY=settings.secret_key.get_secret_value(),
        DOITHOAI_DEFAULT_LOCALE="vi",
    )


def _to_now(clock) -> None:
    """The command stamps its messages with the real time; the bot's clock catches up."""
    clock.at(datetime.now(UTC) + timedelta(seconds=1))


async def _sealed_keys(telegram) -> list[str]:
    async with telegram.runtime.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.like("sealed:%"))
            )
        )


async def test_a_decision_reaches_the_anonymous_asker_and_a_follower_once_each_in_their_language(
    telegram, clock, tmp_path
):
    asker = await telegram.consenting(4301, "Thạch", "Sô Phia")
    english = telegram.chat(4302, "Anna", language_code="en")
    await english.say("/start")
    await english.press("English")
    await english.press("I agree")
    bystander = await telegram.consenting(4303, "Minh")
    ticket = await telegram.ask(asker, PROPOSAL)
    await approve(telegram, ticket)
    await follow(telegram, ticket, 4302)

    # "Not adopted" without its reason: refused in one line, nothing recorded, nobody told.
    refused = await _doithoai(telegram, tmp_path, "dialogue", "decide", ticket, "--decision", "not")
    assert refused.exit_code == 2
    assert refused.output.strip() == "--reason: xin ghi lý do không tiếp thu"
    assert (await question(telegram, ticket)).decision is None

    done = await _doithoai(
        telegram,
        tmp_path,
        "dialogue",
        "decide",
        ticket,
        "--decision",
        "not",
        "--reason",
        REASON,
        "--change",
        CHANGE,
    )
    assert done.exit_code == 0, done.output
    assert f"Đã ghi kết quả tiếp thu cho #{ticket}: Không tiếp thu." in done.output
    assert "Sẽ báo cho 2 người." in done.output
    _to_now(clock)

    [told] = await asker.expect(1)
    assert vi("A decision on your proposal") in told.text
    assert f"#{ticket}" in told.text and "Đề nghị hỗ trợ thêm tiền điện" in told.text
    assert "Kết quả: Không tiếp thu" in told.text
    assert f"Lý do: {REASON}" in told.text and f"Thay đổi: {CHANGE}" in told.text
    [translated] = await english.expect(1)
    assert "A decision on your proposal" in translated.text
    assert "Decision: Not adopted" in translated.text and f"Why: {REASON}" in translated.text

    # The same decision again (a retried command): recorded already, nobody hears twice.
    again = await _doithoai(
        telegram,
        tmp_path,
        "dialogue",
        "decide",
        ticket,
        "--decision",
        "not_adopted",
        "--reason",
        REASON,
        "--change",
        CHANGE,
    )
    assert again.exit_code == 0 and "đã được ghi trước đó" in again.output
    assert "Sẽ báo cho 0 người." in again.output
    await telegram.settled()
    for chat in (asker, english, bystander):
        assert len(telegram.fake.messages_to(chat.user_id)) == chat.seen

    # The asker's own list says it too.
    [mine] = await asker.say("/cauhoi")
    assert f"#{ticket}" in mine.text and "Kết quả: Không tiếp thu" in mine.text

    # Nothing the organiser or the outbox sees names the asker.
    found = await question(telegram, ticket)
    secrets = ["Thạch", "Sô Phia", "4301", "4302"]
    keys = await _sealed_keys(telegram)
    assert len(keys) == 2
    for key in keys:
        assert not any(s in key for s in secrets) and found.id not in key and ticket not in key
    listed = await _doithoai(telegram, tmp_path, "dialogue", "decisions", str(found.dialogue_id))
    assert listed.exit_code == 0, listed.output
    assert f"#{ticket}" in listed.output and "Không tiếp thu" in listed.output
    assert not any(s in listed.output for s in secrets)
    async with telegram.runtime.sessions() as session:
        [event] = await session.scalars(
            select(QuestionEvent).where(
                QuestionEvent.question_id == found.id, QuestionEvent.kind == "decided"
            )
        )
        assert event.staff_id is None and event.note == "not_adopted"


async def test_a_decision_on_a_commitment_reaches_the_people_of_its_question(
    telegram, clock, tmp_path
):
    asker = await telegram.consenting(4311, "Lan")
    ticket = await telegram.ask(asker, PROPOSAL)
    await approve(telegram, ticket)
    now = telegram.runtime.clock()
    async with telegram.runtime.sessions() as session, session.begin():
        official, _code = await staff.invite(
            session,
            role="official",
            name="Chị Hoa",
            agency="ldtbxh",
            now=now,
            valid_for=timedelta(days=7),
        )
        commitment = await answers.add_commitment(
            session,
            question=await answers.by_ticket(session, ticket=ticket),
            staff=official,
            content="Rà soát lại danh sách hộ được hỗ trợ tiền điện.",
            due_on=date(2026, 12, 31),
            responsible="Tổ giảm nghèo",
            now=now,
            today=date(2026, 11, 20),
        )
        commitment_id = commitment.id

    unknown = await _doithoai(
        telegram, tmp_path, "dialogue", "decide", "c999999", "--decision", "adopted"
    )
    assert unknown.exit_code == 2
    assert unknown.output.strip() == "Không có câu hỏi hay cam kết c999999."
    wrong = await _doithoai(telegram, tmp_path, "dialogue", "decide", ticket, "--decision", "maybe")
    assert wrong.exit_code == 2 and len(wrong.output.strip().splitlines()) == 1
    assert "adopted | partly | not | study" in wrong.output

    done = await _doithoai(
        telegram, tmp_path, "dialogue", "decide", f"c{commitment_id}", "--decision", "study"
    )
    assert done.exit_code == 0, done.output
    assert f"c{commitment_id}: Đang nghiên cứu" in done.output
    _to_now(clock)
    [told] = await asker.expect(1)
    assert vi("A decision on a commitment you follow") in told.text
    assert "Rà soát lại danh sách hộ" in told.text and "Kết quả: Đang nghiên cứu" in told.text
    await telegram.settled()
    assert len(telegram.fake.messages_to(asker.user_id)) == asker.seen
