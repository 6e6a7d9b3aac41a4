"""Answering a consultation (tham vấn) by chat, end to end through the Bot API fake, on SQLite
and PostgreSQL: one question per message with its progress line, choices as buttons, a
condition, back and skip, resuming later, changing one's answers, the deep link, and nothing
of the person next to their answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.i18n import Translator
from storage import consultations as store
from storage.consultations import create_consultation, set_status
from storage.households import HouseholdRow, upsert_households
from storage.models import (
    ConsultationOpinion,
    ConsultationResponse,
    Household,
    Question,
)

WARD, OTHER_WARD = "Phường 7", "Phường 9"

QUESTIONS = [
    {
        "id": "agree",
        "type": "single",
        "text": "Ông/bà có đồng ý với dự thảo hỗ trợ nhà ở không?",
        "choices": ["Đồng ý", "Không đồng ý"],
        "required": True,
    },
    {
        "id": "why",
        "type": "text",
        "text": "Vì sao ông/bà không đồng ý?",
        "required": True,
        "if": {"question": "agree", "values": ["Không đồng ý"]},
    },
    {
        "id": "needs",
        "type": "multiple",
        "text": "Gia đình cần hỗ trợ gì nhất?",
        "choices": ["Vật liệu", "Vốn vay", "Ngày công"],
        "required": True,
    },
    {
        "id": "clear",
        "type": "scale",
        "text": "Dự thảo có dễ hiểu không?",
        "low": "rất khó hiểu",
        "high": "rất dễ hiểu",
        "required": True,
    },
    {"id": "idea", "type": "text", "text": "Ý kiến khác của ông/bà?", "required": False},
]


async def _setting(runtime, clock):
    rows = [
        HouseholdRow(code=code, head_name=name, category=category, ward=ward, gender="female")
        for code, name, category, ward in [
            ("P7-001", "Thạch Thị Sa Ly", "poor", WARD),
            ("P7-002", "Nguyễn Văn Hai", "near_poor", WARD),
            ("P9-001", "Kim Sô Phên", "poor", OTHER_WARD),
        ]
    ]
    async with runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
        households = {h.code: h for h in await session.scalars(select(Household))}
        consultation = await create_consultation(
            session,
            title="Lấy ý kiến dự thảo hỗ trợ nhà ở",
            purpose="Biết người dân cần gì trước khi trình HĐND.",
            policy="Dự thảo gồm 5 điều về hỗ trợ sửa chữa nhà ở cho hộ nghèo.",
            link="https://phuong7.example.vn/du-thao",
            audience={"wards": [WARD], "categories": [], "priority": [], "open": False},
            targets={"poor": 10, "near_poor": 10},
            questions=QUESTIONS,
            opens_at=clock() - timedelta(hours=1),
            closes_at=clock() + timedelta(days=10),
            now=clock(),
        )
        await set_status(session, consultation=consultation, status="open", now=clock())
    return households, consultation.id


async def _link(telegram, user_id, household, name):
    chat = telegram.chat(user_id, name)
    await chat.say(f"/start {household.link_code}")
    await chat.press("Tôi đồng ý")
    return chat


async def _responses(runtime):
    async with runtime.sessions() as session:
        return list(await session.scalars(select(ConsultationResponse)))


async def test_a_citizen_answers_a_consultation_one_question_at_a_time_and_can_change_it(
    telegram, clock
):
    runtime = telegram.runtime
    households, cid = await _setting(runtime, clock)
    lan = await _link(telegram, 901, households["P7-001"], "Lan")

    [intro] = await lan.say("/gopy")
    assert intro.text.startswith("Lấy ý kiến dự thảo hỗ trợ nhà ở")
    assert (
        "Biết người dân cần gì" in intro.text and "https://phuong7.example.vn/du-thao" in intro.text
    )
    assert "ẩn danh" in intro.text

    [first] = await lan.press("Bắt đầu")
    assert "Câu 1/4" in first.text and "đồng ý với dự thảo" in first.text
    assert "Đồng ý" in first.button_texts
    assert "⏭ Bỏ qua" not in first.button_texts  # a required question
    assert "⬅️ Quay lại" not in first.button_texts

    # The condition: "Không đồng ý" brings the question "why" in.
    [why] = await lan.press("Không đồng ý")
    assert "Câu 2/5" in why.text and "Vì sao" in why.text
    [needs] = await lan.say("Mức hỗ trợ quá thấp so với giá vật liệu.")
    assert "Câu 3/5" in needs.text
    [again] = await lan.press("Vật liệu")
    assert "☑️ Vật liệu" in again.button_texts
    [again] = await lan.press("Vốn vay")
    [scale] = await lan.press("Xong")
    assert "Câu 4/5" in scale.text and "1 = rất khó hiểu, 5 = rất dễ hiểu" in scale.text
    [idea] = await lan.press("4")
    assert "Câu 5/5" in idea.text and "⏭ Bỏ qua" in idea.button_texts

    # Back to the scale, which shows the answer given, and forward again.
    [scale] = await lan.press("Quay lại")
    assert "Câu 4/5" in scale.text and "✅4" in scale.button_texts
    [idea] = await lan.press("5")
    [review] = await lan.press("Bỏ qua")
    assert "Mức hỗ trợ quá thấp" in review.text and "Vật liệu, Vốn vay" in review.text
    [thanks] = await lan.press("✅ Gửi")
    assert "ẩn danh" in thanks.text

    [response] = await _responses(runtime)
    assert response.submitted and response.group == "poor" and response.ward == WARD
    assert response.answers == {
        "agree": "Không đồng ý",
        "why": "Mức hỗ trợ quá thấp so với giá vật liệu.",
        "needs": ["Vật liệu", "Vốn vay"],
        "clear": 5,
        "idea": None,
    }
    assert not hasattr(response, "account_id")  # the table has no place for who answered

    # Changing one's mind: "Đồng ý" drops the question "why" and its answer.
    [intro] = await lan.say("/consult")
    assert "đã gửi" in intro.text
    [first] = await lan.press("Sửa câu trả lời")
    assert "Câu 1/5" in first.text
    [needs] = await lan.press("Đồng ý")
    assert "Câu 2/4" in needs.text and "☑️ Vốn vay" in needs.button_texts
    [scale] = await lan.press("Xong")
    [idea] = await lan.press("3")
    [review] = await lan.say("Nên hỗ trợ thêm ngày công của đoàn thanh niên.")
    assert "Mức hỗ trợ quá thấp" not in review.text
    [thanks] = await lan.press("✅ Gửi")
    [response] = await _responses(runtime)
    assert response.answers["agree"] == "Đồng ý" and "why" not in response.answers

    # Her opinion in words may also go to the dialogue as a question: the ask flow takes it.
    assert "✍️ Gửi cả ý kiến này thành câu hỏi cho buổi đối thoại" in thanks.button_texts
    [topics] = await lan.press("Gửi cả ý kiến")
    [how] = await lan.press("Rà soát")
    assert "Nên hỗ trợ thêm ngày công của đoàn thanh niên." in how.text
    await lan.press("Ẩn danh")
    await lan.press("✅ Gửi")
    async with runtime.sessions() as session:
        [asked] = list(await session.scalars(select(Question)))
    assert asked.text == "Nên hỗ trợ thêm ngày công của đoàn thanh niên." and asked.anonymous
    async with runtime.sessions() as session:
        opinions = [o.text for o in await session.scalars(select(ConsultationOpinion))]
    assert opinions == ["Nên hỗ trợ thêm ngày công của đoàn thanh niên."]

    # Deleting one's data: the response stays, counted, with nothing leading back to her.
    await lan.say("/xoa")
    await lan.press("Xoá dữ liệu")
    [response] = await _responses(runtime)
    assert response.submitted and response.answers["agree"] == "Đồng ý"
    assert response.respondent_hash is None and response.reply_handle is None


async def test_answers_are_kept_for_later_and_the_consultation_reaches_only_its_audience(
    telegram, clock
):
    runtime = telegram.runtime
    households, cid = await _setting(runtime, clock)
    hai = await _link(telegram, 902, households["P7-002"], "Hai")
    await hai.say("/gopy")
    await hai.press("Bắt đầu")
    [needs] = await hai.press("Đồng ý")
    assert "Câu 2/4" in needs.text
    [later] = await hai.press("Để sau")
    assert "/gopy" in later.text
    [intro] = await hai.say("/gopy")
    [needs] = await hai.press("Tiếp tục")
    assert "Câu 2/4" in needs.text
    [response] = await _responses(runtime)
    assert not response.submitted and response.answers == {"agree": "Đồng ý"}

    # Another ward's household is not in the audience; nor is a chat linked to no household.
    kim = await _link(telegram, 904, households["P9-001"], "Kim")
    [none] = await kim.say("/gopy")
    assert "chưa có cuộc tham vấn" in none.text
    stranger = await telegram.consenting(905, "Minh")
    [none] = await stranger.say("/gopy")
    assert "chưa có cuộc tham vấn" in none.text

    # The deep link brings a linked person straight to the consultation.
    [intro] = await hai.say(f"/start gopy_{cid}")
    assert intro.text.startswith("Lấy ý kiến dự thảo hỗ trợ nhà ở")
    # Someone new comes by the deep link: consent first, then the consultation, which is for
    # the households of its ward only.
    newcomer = telegram.chat(906, "Tư")
    [consent] = await newcomer.say(f"/start gopy_{cid}")
    assert "Tôi đồng ý" in " ".join(consent.button_texts)
    [told] = await newcomer.press("Tôi đồng ý")
    assert "dành cho các hộ ở Phường 7" in told.text

    # An old button after the consultation closed: said so, nothing changes.
    clock.advance(days=11)
    [closed] = await hai.press("Tiếp tục")
    assert "đã kết thúc" in closed.text
    [response] = await _responses(runtime)
    assert response.answers == {"agree": "Đồng ý"}


async def test_a_facilitator_groups_the_opinions_into_themes_in_chat(telegram, clock):
    runtime = telegram.runtime
    households, cid = await _setting(runtime, clock)
    texts = [
        "Mức hỗ trợ quá thấp so với giá vật liệu.",
        "Nên tăng mức hỗ trợ cho hộ nghèo.",
        "Cần hướng dẫn thủ tục rõ ràng hơn.",
    ]
    async with runtime.sessions() as session, session.begin():
        for number, text in enumerate(texts):
            response = await store.start_response(
                session,
                consultation_id=cid,
                respondent_hash=f"{number:064x}",
                reply_handle=b"",
                group="poor",
                ward=WARD,
            )
            await store.submit(
                session,
                response=response,
                answers={"agree": "Không đồng ý", "why": text},
                text_questions=["why"],
                on=clock().date(),
            )
    citizen = await telegram.consenting(930, "Ba")
    [refused] = await citizen.say("/chude")
    assert "chỉ dành cho cán bộ" in refused.text

    mai = await telegram.staff(931, role="facilitator", ward=WARD, name="Mai")
    [shown] = await mai.say("/chude")
    assert "3 ý kiến cần phân chủ đề" in shown.text
    seen = []
    while "Ý kiến này thuộc chủ đề nào?" in shown.text:
        text = next(t for t in texts if t in shown.text)  # one opinion per message
        seen.append(text)
        theme = "Thủ tục" if "thủ tục" in text else "Mức hỗ trợ"
        if f"🏷 {theme}" in shown.button_texts:
            [shown] = await mai.press(f"🏷 {theme}")
        else:
            [prompt] = await mai.press("Chủ đề mới")
            assert "Gõ tên chủ đề mới" in prompt.text
            [shown] = await mai.say(theme)
    assert sorted(seen) == sorted(texts)
    assert "Không còn ý kiến nào cần phân chủ đề." in shown.text
    assert "• Mức hỗ trợ: 2" in shown.text and "• Thủ tục: 1" in shown.text

    # A button replayed by a citizen is refused on the server.
    telegram.fake.press(930, "w:abc:t:1", message_id=refused.message_id)
    [again] = await citizen.expect(1)
    assert "chỉ dành cho cán bộ" in again.text
    async with runtime.sessions() as session:
        themes = {th.name for th in await store.themes(session, consultation_id=cid)}
    assert themes == {"Mức hỗ trợ", "Thủ tục"}


async def test_forged_or_stale_consultation_buttons_get_a_short_answer(telegram, clock):
    runtime = telegram.runtime
    households, cid = await _setting(runtime, clock)
    lan = await _link(telegram, 907, households["P7-001"], "Lan")
    [menu] = await lan.say("/trogiup")
    for data in (
        "v:-:open:99999999999999999999",
        "v:-:open:123456789",
        "v:zz:a:0",
        "v:-:open",
        "w:zz:t:1",
    ):
        telegram.fake.press(907, data, message_id=menu.message_id)
        [answer] = await lan.expect(1)
        assert "Traceback" not in answer.text and answer.text
    [intro] = await lan.say("/gopy")
    nonce = intro.data_for("Bắt đầu").split(":")[1]
    for data in (f"v:{nonce}:a:999999999999", f"v:{nonce}:m:1", f"v:{nonce}:send"):
        telegram.fake.press(907, data, message_id=intro.message_id)
        [answer] = await lan.expect(1)
        assert answer.text.startswith(
            Translator("vi")._("That button is from an earlier message. Here is where you are:")
        )
    assert all(not r.submitted for r in await _responses(runtime))
