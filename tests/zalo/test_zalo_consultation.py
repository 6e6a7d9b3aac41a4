"""Answering a consultation on Zalo, end to end through the Zalo fake: the same questions,
the choices as the OA's buttons or numbered options, free text typed, the progress line, and
the announcement delivered to a household's Zalo chat."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services.consultations import ConsultationNews
from bot.services.notifier import Notifier
from storage import consultations as store
from storage.households import HouseholdRow, upsert_households
from storage.links import link
from storage.models import ConsultationResponse, Household
from tests.zalo.conftest import options

HAI = "8403199887766554433"

QUESTIONS = [
    {
        "id": "time",
        "type": "single",
        "text": "Giờ thu gom rác nào hợp lý?",
        "choices": ["Sáng sớm", "Trưa", "Chiều tối"],
        "required": True,
    },
    {
        "id": "why",
        "type": "text",
        "text": "Vì sao ông/bà chọn chiều tối?",
        "required": False,
        "if": {"question": "time", "values": ["Chiều tối"]},
    },
    {
        "id": "where",
        "type": "multiple",
        "text": "Điểm tập kết nên đặt ở đâu?",
        "choices": ["Đầu hẻm", "Chợ", "Nhà văn hoá khóm"],
        "required": True,
    },
    {
        "id": "ok",
        "type": "scale",
        "text": "Ông/bà hài lòng với dịch vụ hiện nay?",
        "required": True,
    },
]


async def test_a_household_on_zalo_is_told_and_answers_a_consultation(zalo, clock):
    runtime = zalo.runtime
    hai = await zalo.consenting(HAI)
    now = runtime.clock()
    async with runtime.sessions() as session, session.begin():
        await upsert_households(
            session,
            rows=[
                HouseholdRow(
                    code="P7-009", head_name="Trần Văn Hai", category="near_poor", ward="Phường 7"
                )
            ],
        )
        household = await session.scalar(select(Household))
        await link(session, household=household, channel="zalo", user_id=HAI, now=now)
        c = await store.create_consultation(
            session,
            title="Lấy ý kiến về lịch thu gom rác",
            purpose="Chọn giờ thu gom phù hợp.",
            policy="",
            link="",
            audience={"wards": ["Phường 7"], "categories": [], "priority": [], "open": False},
            targets={"near_poor": 5},
            questions=QUESTIONS,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=7),
            now=now,
        )
        await store.set_status(session, consultation=c, status="open", now=now)
        added, _ = await ConsultationNews(
            Notifier(sealer=None, zone=runtime.settings.zone, default_locale="vi")
        ).announce(session, consultation=c, now=now)
        assert added == 1
    runtime.outbox.wake()
    [told] = await hai.expect(1)
    assert "XIN Ý KIẾN CỦA ÔNG/BÀ: LẤY Ý KIẾN VỀ LỊCH THU GOM RÁC" in told.text.upper()
    assert any("Góp ý" in o for o in options(told))

    [intro] = await hai.press("Góp ý")
    assert "4 câu hỏi" in intro.text
    [first] = await hai.press("Bắt đầu")
    assert "Câu 1/3" in first.text and "Sáng sớm" in " ".join(options(first))
    [why] = await hai.press("Chiều tối")
    assert "Câu 2/4" in why.text and "Bỏ qua" in " ".join(options(why))
    [where] = await hai.say("Buổi sáng tôi đi làm sớm, không kịp mang rác ra.")
    assert "Câu 3/4" in where.text
    [where] = await hai.press("Chợ")
    [scale] = await hai.press("Xong")
    assert "Câu 4/4" in scale.text and options(scale)[:5] == ["1", "2", "3", "4", "5"]
    [review] = await hai.press("4")
    assert "Buổi sáng tôi đi làm sớm" in review.text and "Chợ" in review.text
    [thanks] = await hai.press("Gửi")
    assert "ẩn danh" in thanks.text

    async with runtime.sessions() as session:
        [response] = list(await session.scalars(select(ConsultationResponse)))
    assert response.submitted and response.group == "near_poor"
    assert response.answers == {
        "time": "Chiều tối",
        "why": "Buổi sáng tôi đi làm sớm, không kịp mang rác ra.",
        "where": ["Chợ"],
        "ok": 4,
    }
    assert HAI not in repr(response.__dict__)
