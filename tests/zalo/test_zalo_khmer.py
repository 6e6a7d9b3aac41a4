"""A Khmer speaker on Zalo, end to end: Khmer chosen at the consent statement, an anonymous
question asked in Khmer, and its answer back in Khmer, through the same handlers as on
Telegram."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Account, Question
from tests.telegram.conftest import TICKET
from tests.zalo.conftest import options

SOK = "8407100000000000001"
QUESTION = "ខ្ញុំចង់សួរអំពីប្រាក់ឧបត្ថម្ភសម្រាប់គ្រួសារក្រីក្រ តើត្រូវដាក់ពាក្យនៅឯណា?"
ANSWER = "Hộ nghèo nộp hồ sơ tại UBND phường 7, không mất phí."


async def test_a_khmer_speaker_on_zalo_asks_anonymously_and_receives_the_answer_in_khmer(zalo):
    facilitator = await zalo.staff(
        "8407100000000000002", role="facilitator", ward="Phường 7", name="Bà Mai"
    )
    official = await zalo.staff(
        "8407100000000000003", role="official", agency="ldtbxh", name="Chị Hoa"
    )
    sok = zalo.chat(SOK)
    [welcome] = await sok.follow()
    assert options(welcome)[-3:] == ["Tiếng Việt", "English", "ភាសាខ្មែរ"]
    [khmer] = await sok.press("ភាសាខ្មែរ")
    assert khmer.text.startswith("សូមស្វាគមន៍") and "/xoa" in khmer.text
    [menu] = await sok.press("ខ្ញុំយល់ព្រម")
    assert "✍️ ផ្ញើសំណួរ" in options(menu)

    await sok.say("/hoi")
    await sok.press("ការស្ទង់មតិគ្រួសារក្រីក្រ")
    [how] = await sok.say(QUESTION)
    assert options(how)[:2] == ["🕶 មិនបញ្ចេញឈ្មោះ", "👤 បញ្ចេញឈ្មោះខ្ញុំ"]
    await sok.press("🕶 មិនបញ្ចេញឈ្មោះ")
    [receipt] = await sok.press("✅ ផ្ញើ")
    assert "លេខសំណួរ៖" in receipt.text
    ticket = TICKET.search(receipt.text).group(1)
    async with zalo.runtime.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_id == SOK))
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
    assert account.locale == "km"
    assert question.text == QUESTION and question.anonymous and question.account_id is None

    await facilitator.say("/duyet")
    await facilitator.press("✅ Duyệt")
    await official.say("/hopthu")
    await official.press(f"#{ticket}")
    await official.press("✍️ Trả lời")
    await official.say(ANSWER)
    await official.press("📢 Công bố")

    [news] = await sok.expect(1)
    assert ANSWER in news.text and ticket in news.text
    assert options(news) == ["😊 ពេញចិត្ត", "🙁 មិនពេញចិត្ត"]
