"""Citizens' flows on Telegram, end to end: real update JSON in, what the person sees out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.dialogues import create_dialogue
from storage.models import Account, Question


async def _dialogue(runtime, clock, title="Đối thoại giảm nghèo phường 7", days=10):
    async with runtime.sessions() as session, session.begin():
        return await create_dialogue(
            session,
            title=title,
            starts_at=clock() + timedelta(days=days),
            venue="Hội trường UBND phường 7",
            question_deadline=clock() + timedelta(days=days - 2),
        )


async def _questions(runtime):
    async with runtime.sessions() as session:
        return list(await session.scalars(select(Question)))


async def test_start_greets_in_vietnamese_and_asks_for_consent_before_storing_anything(telegram):
    lan = telegram.chat(101)
    [welcome] = await lan.say("/start")
    assert welcome.text.startswith("Chào mừng")
    assert "/xoa" in welcome.text and "ẩn danh" in welcome.text
    assert welcome.button_texts == ["✅ Tôi đồng ý", "Để sau", "Tiếng Việt", "English", "ភាសាខ្មែរ"]
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(Account))) == []
    [english] = await lan.press("English")
    assert english.text.startswith("Welcome") and "✅ I agree" in english.button_texts
    [declined] = await lan.press("Not now")
    assert "nothing has been stored" in declined.text
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(Account))) == []


async def test_accepting_consent_stores_the_account_and_shows_the_menu(telegram):
    lan = telegram.chat(102, "Lan", "Nguyễn")
    await lan.say("/start")
    [thanks] = await lan.press("Tôi đồng ý")
    assert "Gửi câu hỏi" in thanks.text
    assert thanks.button_texts == [
        "✍️ Gửi câu hỏi",
        "📋 Câu hỏi của tôi",
        "🙋 Câu hỏi của bà con",
        "🏠 Hộ gia đình của tôi",
        "🌐 Ngôn ngữ",
        "❓ Trợ giúp",
    ]
    async with telegram.runtime.sessions() as session:
        [account] = list(await session.scalars(select(Account)))
    assert (account.user_id, account.display_name, account.locale) == ("102", "Lan Nguyễn", "vi")
    [again] = await lan.say("/start")
    assert "Chào mừng Lan Nguyễn trở lại!" in again.text


async def test_a_citizen_asks_anonymously_and_gets_a_receipt_and_sees_it_in_my_questions(
    telegram, clock
):
    await _dialogue(telegram.runtime, clock)
    lan = await telegram.consenting(103)
    [topics] = await lan.say("/hoi")
    assert "Đối thoại giảm nghèo phường 7" in topics.text
    assert "Câu hỏi của ông/bà thuộc lĩnh vực nào?" in topics.text
    assert "Tín dụng, vay vốn" in topics.button_texts and "❌ Huỷ" in topics.button_texts
    [prompt] = await lan.press("Rà soát hộ nghèo")
    assert "từ 10 đến 1000 ký tự" in prompt.text
    question = "Vì sao nhà bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo? <điều tra lại>"
    [how] = await lan.say(question)
    assert how.button_texts[:2] == ["🕶 Ẩn danh", "👤 Ghi tên tôi"]
    [check] = await lan.press("Ẩn danh")
    assert check.text.startswith("Xin kiểm tra lại câu hỏi")
    assert "Cách gửi: Ẩn danh" in check.text and question in check.text
    assert "Phòng Lao động – Thương binh và Xã hội" in check.text
    [receipt] = await lan.press("✅ Gửi")
    assert receipt.text.startswith("Đã nhận câu hỏi của ông/bà")
    assert "không ai biết người hỏi là ai" in receipt.text
    [stored] = await _questions(telegram.runtime)
    assert f"Mã câu hỏi: {stored.ticket}" in receipt.text
    assert stored.anonymous and stored.account_id is None and stored.text == question
    assert stored.topic == "rasoat" and stored.agency == "ldtbxh"
    [mine] = await lan.say("/cauhoi")
    assert f"#{stored.ticket} · 20/11/2026 · chờ duyệt" in mine.text
    assert "🕶 ẩn danh" in mine.text and "<điều tra lại>" in mine.text


async def test_a_named_question_carries_the_askers_account(telegram):
    binh = await telegram.consenting(104, "Bình", "Trần")
    await binh.say("/hoi")  # no dialogue planned: straight to the general intake's topics
    await binh.press("Tín dụng")
    await binh.say("Hộ mới thoát nghèo có còn được vay vốn ưu đãi không?")
    [check] = await binh.press("Ghi tên tôi")
    assert "Cách gửi: Ghi tên" in check.text
    assert "Câu hỏi chung" in check.text
    [receipt] = await binh.press("✅ Gửi")
    assert "Câu hỏi có ghi tên ông/bà: Bình Trần." in receipt.text
    [stored] = await _questions(telegram.runtime)
    async with telegram.runtime.sessions() as session:
        account = await session.scalar(select(Account))
    assert not stored.anonymous and stored.account_id == account.id
    assert stored.asker_hash is None and stored.reply_handle is None
    [mine] = await binh.say("/myquestions")
    assert "👤 có ghi tên" in mine.text and stored.ticket in mine.text


async def test_with_several_dialogues_open_the_asker_chooses_one(telegram, clock):
    first = await _dialogue(telegram.runtime, clock, "Buổi một", days=5)
    await _dialogue(telegram.runtime, clock, "Buổi hai", days=12)
    lan = await telegram.consenting(105)
    [choice] = await lan.say("/hoi")
    assert choice.text.startswith("Gửi câu hỏi")
    assert choice.button_texts == ["Buổi một – 25/11/2026", "Buổi hai – 02/12/2026", "❌ Huỷ"]
    [topics] = await lan.press("Buổi một")
    assert "Buổi một" in topics.text
    await lan.press("Giáo dục")
    await lan.say("Con tôi có được miễn học phí năm nay không?")
    await lan.press("Ẩn danh")
    await lan.press("✅ Gửi")
    [stored] = await _questions(telegram.runtime)
    assert stored.dialogue_id == first.id


async def test_too_short_text_is_kept_and_joined_and_too_long_text_is_given_back(telegram):
    lan = await telegram.consenting(106)
    await lan.say("/hoi")
    await lan.press("Y tế")
    [short] = await lan.say("Thẻ BHYT")
    assert "hơi ngắn (8 ký tự; cần ít nhất 10)" in short.text
    [how] = await lan.say("của mẹ tôi hết hạn, làm lại ở đâu?")
    assert how.button_texts[0] == "🕶 Ẩn danh"
    [check] = await lan.press("Ẩn danh")
    assert "Thẻ BHYT\ncủa mẹ tôi hết hạn, làm lại ở đâu?" in check.text
    [again] = await lan.press("Viết lại")
    assert again.text.startswith("Xin ông/bà gửi nội dung mới")
    long_text = "Đường & cống <ngập> " * 60
    refusal, echo = await lan.say(long_text, expect=2)
    assert "Câu hỏi quá dài: 1199 ký tự, tối đa 1000" in refusal.text
    assert echo.text == long_text.strip()
    [how] = await lan.say("Đường ở khóm 3 ngập mỗi khi mưa, khi nào sửa cống?")
    await lan.press("Ẩn danh")
    await lan.press("✅ Gửi")
    [stored] = await _questions(telegram.runtime)
    assert stored.text == "Đường ở khóm 3 ngập mỗi khi mưa, khi nào sửa cống?"


async def test_cancel_at_any_step_sends_nothing(telegram):
    lan = await telegram.consenting(107)
    await lan.say("/hoi")
    await lan.press("Đất ở")
    await lan.say("Khi nào cấp sổ đỏ cho khu tái định cư?")
    [cancelled] = await lan.press("❌ Huỷ")
    assert cancelled.text == "Đã huỷ. Chưa có gì được gửi đi."
    assert await _questions(telegram.runtime) == []
    [nothing] = await lan.say("/huy")
    assert nothing.text.startswith("Không có gì để huỷ")


async def test_a_stale_button_is_answered_and_shows_where_the_person_is(telegram):
    lan = await telegram.consenting(108)
    [topics] = await lan.say("/hoi")
    old = topics.data_for("Giáo dục")
    await lan.press("Giáo dục")
    telegram.fake.press(108, old, message_id=topics.message_id)
    [notice] = await lan.expect(1)
    assert notice.text.startswith("Nút đó thuộc một tin nhắn cũ")
    assert "từ 10 đến 1000 ký tự" in notice.text
    # The press itself was answered at once, before the database was read: the message above
    # says what the stale button meant.
    assert telegram.fake.unanswered_callbacks() == []


async def test_a_draft_survives_other_commands_and_can_be_resumed(telegram):
    lan = await telegram.consenting(109)
    await lan.say("/hoi")
    await lan.press("Giáo dục")
    await lan.say("Trường tiểu học có bán trú cho con em hộ nghèo không?")
    _help, reminder = await lan.say("/trogiup", expect=2)
    assert reminder.text == "Ông/bà đang soạn dở một câu hỏi."
    [offer] = await lan.say("/hoi")
    assert offer.button_texts == ["▶️ Tiếp tục", "🔄 Bắt đầu lại"]
    [how] = await lan.press("Tiếp tục")
    assert how.button_texts[0] == "🕶 Ẩn danh"


async def test_text_typed_before_choosing_a_topic_is_not_lost(telegram):
    lan = await telegram.consenting(110)
    await lan.say("/hoi")
    [kept] = await lan.say("Xin hỏi về tiền hỗ trợ tiền điện cho hộ nghèo")
    assert kept.text.startswith("Tôi đã giữ lại nội dung ông/bà viết")
    [how] = await lan.press("Giảm nghèo")
    assert "Xin hỏi về tiền hỗ trợ tiền điện cho hộ nghèo" in how.text
    assert how.button_texts[0] == "🕶 Ẩn danh"


async def test_english_on_choice(telegram):
    lan = await telegram.consenting(111)
    [choices] = await lan.say("/ngonngu")
    assert choices.button_texts == ["🇻🇳 Tiếng Việt", "🇬🇧 English", "ភាសាខ្មែរ"]
    [switched] = await lan.press("English")
    assert switched.text == "From now on I will write in English."
    [topics] = await lan.say("/ask")
    assert (
        "What is your question about?" in topics.text and "Credit and loans" in topics.button_texts
    )
    await lan.press("Credit")
    await lan.say("Can a newly non-poor household still borrow?")
    await lan.press("Anonymous")
    [receipt] = await lan.press("✅ Send")
    assert receipt.text.startswith("Your question has been received")
    [mine] = await lan.say("/myquestions")
    assert "20 Nov 2026" in mine.text and "waiting for review" in mine.text


async def test_unexpected_input_gets_a_short_helpful_reply(telegram):
    lan = await telegram.consenting(112)
    fake = telegram.fake
    fake.send_sticker(112)
    [reply] = await lan.expect(1)
    assert reply.text.startswith("Tôi chỉ đọc được chữ và nút bấm")
    fake.send_photo(112)
    await lan.expect(1)
    fake.send_voice(112)
    await lan.expect(1)
    [unknown] = await lan.say("/abc")
    assert unknown.text.startswith("Tôi không biết lệnh /abc")
    [text] = await lan.say("xin chào")
    assert "Gửi câu hỏi" in text.text
    fake.edit_text(112, 1, "sửa lại")
    [edited] = await lan.expect(1)
    assert "tin nhắn đã sửa" in edited.text
    fake.send_contact(112, "+84901234567")
    [contact] = await lan.expect(1)
    assert contact.text.startswith("Không tìm thấy đúng một hộ có số điện thoại này")
    async with telegram.runtime.sessions() as session:
        account = await session.scalar(select(Account))
    assert account.phone is None


async def test_media_while_writing_a_question_asks_for_words(telegram):
    lan = await telegram.consenting(113)
    await lan.say("/hoi")
    await lan.press("Khác")
    telegram.fake.send_photo(113)
    [reply] = await lan.expect(1)
    assert reply.text == "Tôi chỉ đọc được chữ. Xin ông/bà viết câu hỏi bằng chữ."


async def test_a_group_chat_is_told_to_write_privately(telegram):
    telegram.chat(114)
    telegram.fake.send_group_text(114, -1001, "/hoi")
    [reply] = await telegram.fake.await_messages(-1001, 1)
    assert "trò chuyện riêng" in reply.text


async def test_commands_need_consent_first(telegram):
    lan = telegram.chat(115)
    [notice] = await lan.say("/hoi")
    assert notice.text.startswith("Trước hết, xin ông/bà đọc và đồng ý")
    assert "✅ Tôi đồng ý" in notice.button_texts
    [unknown_code] = await lan.say("/start HG-0042")
    assert "Mã HG-0042 không đúng hoặc đã hết hạn" in unknown_code.text


async def test_delete_my_data_erases_the_account_and_unlinks_its_questions(telegram):
    lan = await telegram.consenting(116, "Lan", "Nguyễn")
    for how in ("Ẩn danh", "Ghi tên tôi"):
        await lan.say("/hoi")
        await lan.press("Khác")
        await lan.say("Xin cho biết lịch tiếp dân của phường?")
        await lan.press(how)
        await lan.press("✅ Gửi")
    [confirm] = await lan.say("/xoa")
    assert confirm.button_texts == ["🗑 Xoá dữ liệu của tôi", "Không, giữ lại"]
    [done] = await lan.press("Xoá dữ liệu")
    assert done.text.startswith("Dữ liệu của ông/bà đã được xoá")
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(Account))) == []
    questions = await _questions(telegram.runtime)
    assert len(questions) == 2
    assert all(
        q.account_id is None and q.asker_hash is None and q.reply_handle is None for q in questions
    )
    await lan.say("/start")
    await lan.press("Tôi đồng ý")
    [mine] = await lan.say("/cauhoi")
    assert mine.text.startswith("Ông/bà chưa gửi câu hỏi nào")


async def test_a_person_can_keep_their_data(telegram):
    lan = await telegram.consenting(117)
    await lan.say("/xoa")
    [kept] = await lan.press("Không, giữ lại")
    assert kept.text == "Chưa có gì bị xoá."
    async with telegram.runtime.sessions() as session:
        assert await session.scalar(select(Account)) is not None
