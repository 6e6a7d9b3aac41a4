"""The facilitator's moderation (/duyet) end to end through the Bot API fake: one card at a
time; approve, reject (preset or typed reason, the asker told politely), merge (both askers
told), change topic or agency, mark sensitive; citizens and other wards refused and logged."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storage.dialogues import create_dialogue
from storage.models import Question, QuestionEvent, Staff, Support

WARD = "Phường 7"
TITLE = "Đối thoại giảm nghèo Phường 7"


@pytest.fixture
async def dialogue(telegram, clock):
    """One open dialogue of Phường 7: every question asked goes to it."""
    async with telegram.runtime.sessions() as session, session.begin():
        return await create_dialogue(
            session,
            title=TITLE,
            starts_at=clock() + timedelta(days=10),
            venue="Hội trường UBND Phường 7",
            question_deadline=clock() + timedelta(days=8),
            wards=[WARD, "Phường 8"],
        )


@pytest.fixture
async def mai(telegram):
    return await telegram.staff(900, role="facilitator", ward=WARD, name="Chị Mai")


async def _question(telegram, ticket: str) -> Question:
    async with telegram.runtime.sessions() as session:
        return await session.scalar(select(Question).where(Question.ticket == ticket))


async def _events(telegram, ticket: str) -> list[tuple[str, str]]:
    question = await _question(telegram, ticket)
    async with telegram.runtime.sessions() as session:
        rows = await session.scalars(
            select(QuestionEvent)
            .where(QuestionEvent.question_id == question.id)
            .order_by(QuestionEvent.id)
        )
        return [(e.kind, e.note) for e in rows]


async def _card(chat, ticket: str):
    """/duyet, then skip until the card of `ticket` shows."""
    [card] = await chat.say("/duyet")
    for _ in range(10):
        if f"Câu hỏi #{ticket}" in card.text:
            return card
        [card] = await chat.press("⏭ Bỏ qua")
    raise AssertionError(f"no card for #{ticket}")


async def test_an_anonymous_question_is_shown_without_its_asker_and_approved(
    telegram, dialogue, mai
):
    lan = await telegram.consenting(901, "Lan", "Nguyễn")
    text = "Nhà tôi ở khóm 3 chưa được rà soát lại hộ cận nghèo năm nay, xin hỏi vì sao?"
    ticket = await telegram.ask(lan, text)

    [card] = await mai.say("/duyet")
    assert card.text.startswith(f"Câu hỏi #{ticket}\n\n1 câu hỏi đang chờ duyệt")
    assert f"🏛 Buổi đối thoại: {TITLE}" in card.text
    assert "🏷 Chủ đề: Rà soát hộ nghèo, hộ cận nghèo" in card.text
    assert "🏢 Cơ quan: Phòng Lao động – Thương binh và Xã hội" in card.text
    assert "👤 Người hỏi ẩn danh · Thứ Sáu, 20/11/2026" in card.text
    assert "👥 0 người cùng hỏi" in card.text and f"“{text}”" in card.text
    assert "Lan" not in card.text and "Nguyễn" not in card.text and "901" not in card.text
    assert "901" not in str(card.buttons) and all(
        len(d.encode()) <= 64 for _, d in sum(card.buttons, [])
    )
    assert card.button_texts == [
        "✅ Duyệt",
        "❌ Từ chối",
        "🔗 Gộp",
        "⏭ Bỏ qua",
        "🏷 Đổi chủ đề",
        "🏛 Đổi cơ quan",
        "⚠️ Đánh dấu nhạy cảm",
    ]

    [done] = await mai.press("✅ Duyệt")
    assert done.text.startswith(
        f"Câu hỏi #{ticket} đã được duyệt và chuyển tới Phòng Lao động – Thương binh và Xã hội."
    )
    assert "Không còn câu hỏi nào chờ duyệt" in done.text
    question = await _question(telegram, ticket)
    assert question.status == "approved"
    async with telegram.runtime.sessions() as session:
        [event] = list(await session.scalars(select(QuestionEvent)))
        staff = await session.scalar(select(Staff).where(Staff.user_id == "900"))
    assert (event.kind, event.staff_id, event.on) == ("approved", staff.id, date(2026, 11, 20))


async def test_a_named_question_shows_the_askers_name_only(telegram, dialogue, mai):
    minh = await telegram.consenting(902, "Minh", "Trần")
    ticket = await telegram.ask(
        minh, "Xin hỏi thủ tục vay vốn hộ nghèo cần những gì?", anonymous=False
    )
    [card] = await mai.say("/duyet")
    assert f"Câu hỏi #{ticket}" in card.text and "👤 Minh Trần · Thứ Sáu, 20/11/2026" in card.text
    assert "902" not in card.text and "Người hỏi ẩn danh" not in card.text


async def test_a_rejection_with_a_preset_or_a_typed_reason_reaches_the_anonymous_asker(
    telegram, dialogue, mai
):
    lan = await telegram.consenting(903, "Lan")
    first = await telegram.ask(lan, "Cho tôi hỏi cái này với ạ, mong được trả lời sớm.")
    second = await telegram.ask(lan, "Xin hỏi về chính sách của tỉnh bên cạnh cho người nhập cư?")

    await _card(mai, first)
    [reasons] = await mai.press("❌ Từ chối")
    assert reasons.text.startswith(f"Vì sao câu hỏi #{first} không được chấp nhận?")
    assert reasons.button_texts[:4] == [
        "Không thuộc nội dung đối thoại",
        "Trùng câu hỏi khác",
        "Công kích cá nhân, lời lẽ không phù hợp",
        "Chưa đủ thông tin",
    ]
    [done] = await mai.press("Chưa đủ thông tin")
    assert done.text.startswith(f"Câu hỏi #{first} không được chấp nhận; người hỏi đã được báo")
    assert f"Câu hỏi #{second}" in done.text  # the next card
    [told] = await lan.expect(1)
    assert told.text.startswith(f"Về câu hỏi #{first} của ông/bà")
    assert "Cảm ơn ông/bà đã gửi câu hỏi “Cho tôi hỏi cái này với ạ" in told.text
    assert "vì lý do: Câu hỏi chưa đủ thông tin để trả lời." in told.text
    question = await _question(telegram, first)
    assert (question.status, question.reject_reason) == (
        "rejected",
        "Câu hỏi chưa đủ thông tin để trả lời.",
    )

    await mai.press("❌ Từ chối")
    [prompt] = await mai.press("Viết lý do khác")
    assert prompt.text.startswith("Xin viết lý do trong một tin nhắn")
    [short] = await mai.say("Sai")
    assert short.text.startswith("Lý do cần từ 5 đến 300 ký tự")
    reason = "Câu hỏi thuộc thẩm quyền của tỉnh khác, xin gửi tới UBND tỉnh đó."
    [done] = await mai.say(reason)
    assert done.text.startswith(f"Câu hỏi #{second} không được chấp nhận")
    assert "Không còn câu hỏi nào chờ duyệt" in done.text
    [told] = await lan.expect(1)
    assert told.text.startswith(f"Về câu hỏi #{second} của ông/bà") and reason in told.text
    question = await _question(telegram, second)
    assert (question.status, question.reject_reason) == ("rejected", reason)
    assert await _events(telegram, second) == [("rejected", reason)]


async def test_a_duplicate_merged_into_an_approved_question_tells_both_askers(
    telegram, dialogue, mai
):
    lan = await telegram.consenting(904, "Lan")
    minh = await telegram.consenting(905, "Minh")
    hung = await telegram.consenting(906, "Hùng")
    kept = await telegram.ask(lan, "Khi nào phường rà soát lại danh sách hộ cận nghèo năm nay?")
    duplicate = await telegram.ask(minh, "Bao giờ thì rà soát hộ cận nghèo vậy cán bộ ơi?")
    third = await telegram.ask(hung, "Cho hỏi lịch rà soát hộ nghèo, cận nghèo năm nay?")
    async with telegram.runtime.sessions() as session, session.begin():
        # Someone already pressed "Tôi cũng muốn hỏi" on the third one: they count too.
        q3 = await session.scalar(select(Question).where(Question.ticket == third))
        q3.supporters = 1
        session.add(Support(question_id=q3.id, supporter_hash="f" * 64, supported_on=date.today()))

    await _card(mai, kept)
    await mai.press("✅ Duyệt")
    await _card(mai, duplicate)
    [choices] = await mai.press("🔗 Gộp")
    assert choices.text.startswith(f"Câu hỏi #{duplicate} trùng với câu hỏi nào?")
    assert choices.button_texts[0].startswith(f"#{kept} · 👥 0 · Khi nào phường rà soát")
    assert all(len(d.encode()) <= 64 for _, d in sum(choices.buttons, []))
    [done] = await mai.press(f"#{kept}")
    assert done.text.startswith(f"Câu hỏi #{duplicate} đã được gộp vào #{kept}")

    [to_minh] = await minh.expect(1)
    assert f"được gộp vào câu hỏi #{kept}" in to_minh.text
    assert "Ông/bà sẽ nhận câu trả lời của câu hỏi đó tại đây." in to_minh.text
    [to_lan] = await lan.expect(1)
    assert to_lan.text.startswith(f"Về câu hỏi #{kept} của ông/bà")
    assert f"Có người khác cũng hỏi giống câu hỏi #{kept}" in to_lan.text
    q_kept, q_dup = await _question(telegram, kept), await _question(telegram, duplicate)
    assert (q_dup.status, q_dup.merged_into, q_kept.supporters) == ("merged", q_kept.id, 1)

    await _card(mai, third)
    await mai.press("🔗 Gộp")
    [prompt] = await mai.press("Gõ mã câu hỏi")
    assert prompt.text.startswith(f"Xin gõ mã của câu hỏi cần gộp câu hỏi #{third} vào")
    [wrong] = await mai.say(f"#{duplicate}")
    assert wrong.text.startswith(f"#{duplicate} không phải là câu hỏi đã duyệt")
    [done] = await mai.say(f"#{kept.lower()}")
    assert done.text.startswith(f"Câu hỏi #{third} đã được gộp vào #{kept}")
    [to_hung] = await hung.expect(1)
    assert f"được gộp vào câu hỏi #{kept}" in to_hung.text
    [to_lan] = await lan.expect(1)
    assert f"Có người khác cũng hỏi giống câu hỏi #{kept}" in to_lan.text
    [to_minh] = await minh.expect(1)  # who follows the kept question hears of it too
    assert f"Có người khác cũng hỏi giống câu hỏi #{kept}" in to_minh.text
    q_kept = await _question(telegram, kept)
    assert q_kept.supporters == 3  # the duplicate's asker, the third's asker and its supporter
    assert await _events(telegram, third) == [("merged", kept)]


async def test_the_facilitator_changes_topic_and_agency_and_marks_a_question_sensitive(
    telegram, dialogue, mai
):
    lan = await telegram.consenting(907, "Lan")
    ticket = await telegram.ask(lan, "Con tôi học lớp 5 có được miễn học phí không ạ?")
    await mai.say("/duyet")
    [topics] = await mai.press("🏷 Đổi chủ đề")
    assert "Rà soát hộ nghèo, hộ cận nghèo" not in topics.button_texts
    [card] = await mai.press("Tín dụng, vay vốn")
    assert "🏷 Chủ đề: Tín dụng, vay vốn" in card.text
    assert "🏢 Cơ quan: Ngân hàng Chính sách xã hội" in card.text
    question = await _question(telegram, ticket)
    assert (question.topic, question.agency, question.status) == ("tindung", "nhcsxh", "new")

    [agencies] = await mai.press("🏛 Đổi cơ quan")
    assert "Ngân hàng Chính sách xã hội" not in agencies.button_texts
    [card] = await mai.press("Phòng Giáo dục và Đào tạo")
    assert "🏢 Cơ quan: Phòng Giáo dục và Đào tạo" in card.text
    assert (await _question(telegram, ticket)).agency == "gddt"

    [card] = await mai.press("⚠️ Đánh dấu nhạy cảm")
    assert "⚠️ Đã đánh dấu nhạy cảm: không bao giờ công khai." in card.text
    assert "⚠️ Đã đánh dấu nhạy cảm ✔ (bấm để bỏ)" in card.button_texts
    assert (await _question(telegram, ticket)).sensitive
    [card] = await mai.press("bấm để bỏ")
    assert "⚠️ Đánh dấu nhạy cảm" in card.button_texts
    assert not (await _question(telegram, ticket)).sensitive
    assert [kind for kind, _ in await _events(telegram, ticket)] == [
        "retopic",
        "retopic",
        "sensitive",
        "sensitive",
    ]
    await lan.expect(0)  # the asker is not bothered with these


async def test_a_citizens_moderate_command_and_replayed_button_are_refused_and_logged(
    telegram, dialogue, mai, caplog
):
    lan = await telegram.consenting(908, "Lan")
    ticket = await telegram.ask(lan, "Xin hỏi về chính sách hỗ trợ nhà ở cho hộ nghèo?")
    with caplog.at_level(logging.WARNING, logger="handlers.roles"):
        [refused] = await lan.say("/duyet")
        assert refused.text == "Chức năng này chỉ dành cho cán bộ cơ quan và thúc đẩy viên."
        last = telegram.fake.messages_to(908)[-1].message_id
        telegram.fake.press(908, f"s:a:{ticket}", message_id=last)
        [refused] = await lan.expect(1)
        assert refused.text == "Chức năng này chỉ dành cho cán bộ cơ quan và thúc đẩy viên."
    logged = [r.getMessage() for r in caplog.records if r.name == "handlers.roles"]
    assert len(logged) == 2 and all("needs role facilitator" in line for line in logged)
    assert all("908" not in line for line in logged)
    assert (await _question(telegram, ticket)).status == "new"


async def test_a_facilitator_of_another_ward_neither_sees_nor_moderates_the_question(
    telegram, dialogue, mai, clock, caplog
):
    async with telegram.runtime.sessions() as session, session.begin():
        await create_dialogue(
            session,
            title="Đối thoại Phường 9",
            starts_at=clock() + timedelta(days=12),
            venue="UBND Phường 9",
            wards=["Phường 9"],
        )
    lan = await telegram.consenting(909, "Lan")
    ticket = await telegram.ask(
        lan, "Xin hỏi về hỗ trợ sinh kế cho hộ mới thoát nghèo?", dialogue=TITLE
    )
    vy = await telegram.staff(910, role="facilitator", ward="Phường 9", name="Chị Vy")
    [empty] = await vy.say("/duyet")
    assert empty.text.startswith("Duyệt câu hỏi\n\nKhông còn câu hỏi nào chờ duyệt")

    with caplog.at_level(logging.WARNING, logger="handlers.moderation"):
        for data in (
            f"s:a:{ticket}",
            f"s:rr:{ticket}:0",
            f"s:x:{ticket}",
            f"s:mm:{ticket}:{ticket}",
        ):
            telegram.fake.press(910, data, message_id=empty.message_id)
            [refused] = await vy.expect(1)
            assert refused.text == "Câu hỏi này thuộc buổi đối thoại của phường, xã khác."
    logged = [r.getMessage() for r in caplog.records if r.name == "handlers.moderation"]
    assert len(logged) == 4 and all("outside their ward" in line for line in logged)
    question = await _question(telegram, ticket)
    assert (question.status, question.sensitive) == ("new", False)
    assert await _events(telegram, ticket) == []

    # The ward of Phường 8 takes part in the dialogue: its facilitator sees the question.
    tam = await telegram.staff(911, role="facilitator", ward="phường 8", name="Anh Tâm")
    [card] = await tam.say("/duyet")
    assert f"Câu hỏi #{ticket}" in card.text


async def test_general_questions_wait_for_every_facilitator_and_a_colleagues_decision_stands(
    telegram, mai
):
    lan = await telegram.consenting(912, "Lan")
    ticket = await telegram.ask(lan, "Xin hỏi chung về bảo hiểm y tế cho người cao tuổi?")
    vy = await telegram.staff(913, role="facilitator", ward="Phường 9", name="Chị Vy")
    [card_mai] = await mai.say("/duyet")
    [card_vy] = await vy.say("/duyet")
    assert f"Câu hỏi #{ticket}" in card_mai.text and f"Câu hỏi #{ticket}" in card_vy.text
    assert "Câu hỏi chung (không theo buổi đối thoại nào)" in card_mai.text

    await mai.press("✅ Duyệt")
    [late] = await vy.press("❌ Từ chối")
    assert late.text.startswith(f"Câu hỏi #{ticket} đã được đồng nghiệp xử lý: đã duyệt.")
    assert "Không còn câu hỏi nào chờ duyệt" in late.text
    assert (await _question(telegram, ticket)).status == "approved"
    await lan.expect(0)  # nobody told the asker of a rejection


async def test_a_reopened_question_shows_why_and_goes_back_to_its_agency(
    telegram, dialogue, mai, clock
):
    lan = await telegram.consenting(914, "Lan")
    ticket = await telegram.ask(lan, "Xin hỏi khi nào được nhận tiền hỗ trợ học nghề?")
    async with telegram.runtime.sessions() as session, session.begin():
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
        question.status, question.reopen_reason = "reopened", "Trả lời chưa nói rõ ngày nhận."
        question.due_on = date(2026, 11, 1)
    [card] = await mai.say("/duyet")
    assert "🔁 Mở lại vì chưa hài lòng: Trả lời chưa nói rõ ngày nhận." in card.text
    await mai.press("✅ Duyệt")
    question = await _question(telegram, ticket)
    assert question.status == "approved"
    assert question.due_on == date(2026, 11, 20) + timedelta(days=15)


async def test_the_menu_button_opens_the_queue(telegram, dialogue, mai):
    [menu] = await mai.say("/start")
    [empty] = await mai.press("📋 Duyệt câu hỏi")
    assert "Không còn câu hỏi nào chờ duyệt" in empty.text
