"""The facilitator at the dialogue: questions answered in the room, commitments made there, and
attendance, end to end through the Bot API fake with the asker and a follower watching."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from bot.services.invitations import Invitations
from storage import invitations as inv
from storage.dialogues import create_dialogue
from storage.households import HouseholdRow, upsert_households
from storage.models import (
    Answer,
    Commitment,
    Household,
    Invitation,
    Question,
    QuestionEvent,
    Staff,
)

WARD = "Phường 7"
TITLE = "Đối thoại giảm nghèo Phường 7"


async def _households(runtime):
    rows = [
        HouseholdRow(
            code=f"P7-{n:03}",
            head_name=name,
            gender="female",
            ethnicity="Kinh",
            category="poor",
            ward=WARD,
            hamlet="Khóm 3",
            phone=f"09123470{n:02}",
        )
        for n, name in enumerate(["Thạch Thị Sa Ly", "Nguyễn Văn Hai", "Lê Thị Ba", "Trần Văn Tư"])
    ]
    async with runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
        return list(await session.scalars(select(Household).order_by(Household.code)))


async def _link(telegram, user_id, household, name):
    chat = telegram.chat(user_id, name)
    await chat.say(f"/start {household.link_code}")
    await chat.press("Tôi đồng ý")
    return chat


async def _set(runtime, ticket, **values):
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Question).where(Question.ticket == ticket).values(**values))


async def _question(runtime, ticket):
    async with runtime.sessions() as session:
        return await session.scalar(select(Question).where(Question.ticket == ticket))


async def _room(telegram, clock, *, invite=False):
    """A dialogue of Phường 7 with an anonymous and a named question, approved, the first
    followed by a neighbour; its facilitator; and the clock moved to the dialogue's start.
    With `invite`, the four households are invited first and Lan's accepts."""
    runtime = telegram.runtime
    households = await _households(runtime)
    async with runtime.sessions() as session, session.begin():
        dialogue = await create_dialogue(
            session,
            title=TITLE,
            starts_at=clock() + timedelta(days=5),
            venue="Hội trường UBND Phường 7",
            question_deadline=clock() + timedelta(days=4),
            wards=[WARD],
        )
    lan = await _link(telegram, 1001, households[0], "Lan")
    binh = await _link(telegram, 1002, households[1], "Bình")
    anonymous = await telegram.ask(lan, "Vì sao nhà có xe hơi vẫn được xếp hộ cận nghèo?")
    named = await telegram.ask(
        lan, "Xin hỏi thủ tục vay vốn học nghề cho con?", topic="Tín dụng", anonymous=False
    )
    await _set(runtime, anonymous, status="approved")
    await _set(runtime, named, status="approved")
    await binh.say("/xemcauhoi")
    await binh.press(f"Tôi cũng muốn hỏi #{anonymous}")
    if invite:
        async with runtime.sessions() as session, session.begin():
            await inv.save_selection(
                session,
                dialogue_id=dialogue.id,
                chosen=[(h.id, "priority", n) for n, h in enumerate(households[1:])]
                + [(households[0].id, "priority", 9)],
                waiting=[],
            )
            await Invitations(runtime.notifier).invite(
                session,
                dialogue=dialogue,
                now=clock(),
            )
        runtime.outbox.wake()
        await lan.expect(1)
        await lan.press("Tham dự")
        await binh.expect(1)  # invited too; has not answered
    facilitator = await telegram.staff(1009, role="facilitator", ward=WARD, name="Chị Mai")
    [closed] = await facilitator.say("/buoidoithoai")
    assert "Hiện không có buổi đối thoại nào của Phường 7" in closed.text
    clock.advance(days=5)
    return dialogue, households, lan, binh, facilitator, anonymous, named


async def _staff_id(runtime, user_id):
    async with runtime.sessions() as session:
        return await session.scalar(select(Staff.id).where(Staff.user_id == str(user_id)))


async def test_the_facilitator_marks_questions_answered_in_the_room_and_people_receive_it(
    telegram, clock
):
    runtime = telegram.runtime
    dialogue, _h, lan, binh, facilitator, anonymous, named = await _room(telegram, clock)
    [room] = await facilitator.say("/buoidoithoai")
    assert room.text.startswith(TITLE)
    assert "Hội trường UBND Phường 7" in room.text
    # The most supported first.
    assert room.text.index(f"#{anonymous} · 👥1") < room.text.index(f"#{named} · 👥0")
    assert room.button_texts[-2:] == ["➕ Cam kết chung", "✅ Điểm danh"]

    [card] = await facilitator.press(f"#{anonymous}")
    assert card.text.startswith(f"#{anonymous}\n\nRà soát hộ nghèo, hộ cận nghèo · 👥1")
    assert "Người hỏi ẩn danh · Phường 7 · 20/11/2026" in card.text
    assert "Lan" not in card.text
    assert "Cơ quan: Phòng Lao động – Thương binh và Xã hội" in card.text
    assert card.button_texts[:2] == ["🏛 Đã trả lời tại buổi đối thoại", "🤝 Ghi nhận cam kết"]
    [prompt] = await facilitator.press("Đã trả lời tại buổi đối thoại")
    assert prompt.text.startswith(f"Câu hỏi #{anonymous} đã được trả lời tại buổi đối thoại.")
    assert prompt.button_texts == ["⏭ Bỏ qua", "❌ Huỷ"]
    summary = "Phòng LĐ-TB&XH sẽ rà soát lại hộ này trong tháng 12 cùng tổ dân phố."
    [done] = await facilitator.say(summary)
    assert done.text == (
        f"Đã ghi nhận câu hỏi #{anonymous} được trả lời tại buổi đối thoại.\n"
        "Nội dung tóm tắt được gửi tới 2 người theo dõi câu hỏi."
    )
    # The anonymous asker (through the sealed handle) and the follower both receive it.
    for person in (lan, binh):
        [news] = await person.expect(1)
        assert f"#{anonymous}" in news.text and summary in news.text
        # Satisfied / not satisfied (and "🔊 Nghe" after them where espeak-ng is installed).
        assert news.button_texts[:2] == ["😊 Hài lòng", "🙁 Chưa hài lòng"]
        assert news.button_texts[2:] in ([], ["🔊 Nghe"])

    question = await _question(runtime, anonymous)
    assert (question.status, question.answered_in_room) == ("answered", True)
    staff_id = await _staff_id(runtime, 1009)
    async with runtime.sessions() as session:
        [answer] = list(await session.scalars(select(Answer)))
        [event] = list(
            await session.scalars(select(QuestionEvent).where(QuestionEvent.kind == "in_room"))
        )
    assert (answer.text, answer.in_room, answer.agency, answer.staff_id) == (
        summary,
        True,
        "ldtbxh",
        staff_id,
    )
    assert (event.question_id, event.staff_id, event.on) == (
        question.id,
        staff_id,
        date(2026, 11, 25),
    )

    # The named question shows its asker's name; "Skip" marks it without an answer to send.
    await facilitator.say("/room")
    [card] = await facilitator.press(f"#{named}")
    assert "Lan · Phường 7 · 20/11/2026" in card.text
    await facilitator.press("Đã trả lời tại buổi đối thoại")
    [skipped] = await facilitator.press("Bỏ qua")
    assert skipped.text == f"Đã ghi nhận câu hỏi #{named} được trả lời tại buổi đối thoại."
    question = await _question(runtime, named)
    assert (question.status, question.answered_in_room) == ("answered", True)
    async with runtime.sessions() as session:
        assert len(list(await session.scalars(select(Answer)))) == 1
    [room] = await facilitator.say("/room")
    assert f"🏛 #{anonymous}" in room.text and f"🏛 #{named}" in room.text
    assert len(telegram.fake.messages_to(lan.user_id)) == lan.seen  # nothing more to the asker


async def test_a_commitment_is_recorded_in_the_room_with_the_default_deadline(telegram, clock):
    runtime = telegram.runtime
    dialogue, _h, lan, binh, facilitator, anonymous, _named = await _room(telegram, clock)
    await facilitator.say("/buoidoithoai")
    await facilitator.press(f"#{anonymous}")
    [agencies] = await facilitator.press("Ghi nhận cam kết")
    assert agencies.text.startswith(f"Ghi nhận cam kết\n\nCam kết cho câu hỏi #{anonymous}")
    assert agencies.button_texts[0] == "Phòng Lao động – Thương binh và Xã hội"  # its own first
    assert len(agencies.button_texts) == 8  # the seven agencies and "Cancel"
    [what] = await facilitator.press("Phòng Lao động")
    assert what.text.startswith("Phòng Lao động – Thương binh và Xã hội cam kết làm gì?")
    content = "Rà soát lại hộ cận nghèo ở khóm 3 và báo kết quả cho người dân."
    [when] = await facilitator.say(content)
    assert when.button_texts == ["Trong 15 ngày (mặc định)", "Trong 30 ngày", "❌ Huỷ"]
    [who] = await facilitator.press("Trong 15 ngày (mặc định)")
    assert who.text.startswith("Hạn: Thứ Năm, 10/12/2026. Ai chịu trách nhiệm?")
    [recorded] = await facilitator.press("Chính cơ quan đó")
    assert recorded.text == (
        "Đã ghi nhận cam kết\n\n"
        "🏛 Phòng Lao động – Thương binh và Xã hội\n"
        f"🤝 Cam kết: {content}\n"
        "📅 Hạn: Thứ Năm, 10/12/2026\n"
        "👤 Người chịu trách nhiệm: Phòng Lao động – Thương binh và Xã hội\n\n"
        f"#{anonymous}: đã gửi tới 2 người theo dõi câu hỏi."
    )
    for person in (lan, binh):
        [news] = await person.expect(1)
        assert f"#{anonymous}" in news.text and content in news.text
    question = await _question(runtime, anonymous)
    staff_id = await _staff_id(runtime, 1009)
    async with runtime.sessions() as session:
        [commitment] = list(await session.scalars(select(Commitment)))
        kinds = list(
            await session.scalars(
                select(QuestionEvent.kind).where(QuestionEvent.question_id == question.id)
            )
        )
    assert question.status == "committed" and kinds == ["committed"]
    assert (
        commitment.dialogue_id,
        commitment.question_id,
        commitment.agency,
        commitment.due_on,
        commitment.version,
        commitment.staff_id,
        commitment.status,
    ) == (dialogue.id, question.id, "ldtbxh", date(2026, 12, 10), 1, staff_id, "open")

    # A general commitment: no question, a date and a person typed; a past date is refused.
    await facilitator.say("/buoidoithoai")
    [agencies] = await facilitator.press("Cam kết chung")
    assert agencies.text.startswith("Ghi nhận cam kết\n\nCam kết chung của buổi đối thoại")
    await facilitator.press("UBND phường, xã")
    await facilitator.say("Sửa đèn đường khóm 3 trước Tết.")
    [refused] = await facilitator.say("01/11/2026")
    assert refused.text == "Xin nhập một ngày chưa qua, ví dụ 25/12/2026, hoặc bấm một nút."
    assert refused.button_texts[0] == "Trong 15 ngày (mặc định)"
    [who] = await facilitator.say("31/12/2026")
    assert who.text.startswith("Hạn: Thứ Năm, 31/12/2026.")
    [recorded] = await facilitator.say("Ông Tư, Phó Chủ tịch UBND phường")
    assert "👤 Người chịu trách nhiệm: Ông Tư, Phó Chủ tịch UBND phường" in recorded.text
    async with runtime.sessions() as session:
        general = await session.scalar(select(Commitment).where(Commitment.question_id.is_(None)))
    assert (general.agency, general.due_on, general.dialogue_id, general.responsible) == (
        "ubnd",
        date(2026, 12, 31),
        dialogue.id,
        "Ông Tư, Phó Chủ tịch UBND phường",
    )
    assert len(telegram.fake.messages_to(lan.user_id)) == lan.seen  # nobody to tell

    # A draft dropped with /huy records nothing.
    await facilitator.say("/buoidoithoai")
    await facilitator.press("Cam kết chung")
    await facilitator.press("UBND phường, xã")
    [cancelled] = await facilitator.say("/huy")
    assert cancelled.text.startswith("Đã huỷ")
    await facilitator.say("Sửa đèn đường khóm 5.")
    async with runtime.sessions() as session:
        assert len(list(await session.scalars(select(Commitment)))) == 2


async def test_attendance_is_taken_in_the_chat(telegram, clock):
    runtime = telegram.runtime
    _d, households, _lan, _binh, facilitator, _a, _n = await _room(telegram, clock, invite=True)
    await facilitator.say("/buoidoithoai")
    [sheet] = await facilitator.press("Điểm danh")
    assert sheet.text.startswith("Điểm danh\n\n" + TITLE)
    assert "Có mặt: 0/4" in sheet.text
    assert sheet.button_texts[:4] == [
        "⬜ Thạch Thị Sa Ly · Khóm 3",
        "⬜ Nguyễn Văn Hai · Khóm 3",
        "⬜ Lê Thị Ba · Khóm 3",
        "⬜ Trần Văn Tư · Khóm 3",
    ]
    [sheet] = await facilitator.press("Thạch Thị Sa Ly")
    assert sheet.button_texts[0] == "✅ Thạch Thị Sa Ly · Khóm 3"
    assert "Có mặt: 1/4" in sheet.text
    [sheet] = await facilitator.press("Lê Thị Ba")
    [sheet] = await facilitator.press("Thạch Thị Sa Ly")
    assert sheet.button_texts[0] == "⬜ Thạch Thị Sa Ly · Khóm 3"
    async with runtime.sessions() as session:
        attended = {i.household_id: i.attended for i in await session.scalars(select(Invitation))}
    assert attended == {
        households[0].id: False,
        households[1].id: None,
        households[2].id: True,
        households[3].id: None,
    }


async def test_a_citizen_and_a_facilitator_of_another_ward_are_refused(telegram, clock):
    runtime = telegram.runtime
    dialogue, _h, lan, _binh, facilitator, anonymous, _named = await _room(telegram, clock)
    [refused] = await lan.say("/buoidoithoai")
    assert refused.text == "Chức năng này chỉ dành cho cán bộ cơ quan và thúc đẩy viên."
    elsewhere = await telegram.staff(1010, role="facilitator", ward="Phường 9")
    official = await telegram.staff(1011, role="official", agency="ldtbxh")
    [none] = await elsewhere.say("/buoidoithoai")
    assert "Hiện không có buổi đối thoại nào của Phường 9" in none.text

    # Buttons replayed from another chat: the citizen and the official lack the role, the
    # other ward's facilitator the ward.
    for data in (f"g:q:{anonymous}", f"g:i:{anonymous}", f"g:d:{dialogue.id}:0", "g:a:1:0"):
        for chat, expected in (
            (lan, "Chức năng này chỉ dành cho cán bộ cơ quan và thúc đẩy viên."),
            (official, "Chức năng này dành cho thúc đẩy viên của phường/xã; bạn là cán bộ"),
            (elsewhere, "Đây không phải câu hỏi hoặc buổi đối thoại của phường/xã mình phụ trách"),
        ):
            last = telegram.fake.messages_to(chat.user_id)[-1].message_id
            telegram.fake.press(chat.user_id, data, message_id=last)
            [answer] = await chat.expect(1)
            assert answer.text.startswith(expected), (data, answer.text)
    question = await _question(runtime, anonymous)
    assert (question.status, question.answered_in_room) == ("approved", False)

    # The room's own facilitator opens the same question.
    [card] = await facilitator.say("/buoidoithoai")
    assert f"#{anonymous}" in card.text
