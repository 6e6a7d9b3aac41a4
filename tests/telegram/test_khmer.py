"""Khmer on Telegram, end to end: chosen at /start among three languages each written in itself,
changed with /ngonngu, offered (never imposed) to a household the registry says is Khmer, and a
Khmer speaker's anonymous question through to its answer, in Khmer all the way."""

from __future__ import annotations

from sqlalchemy import select

from storage.households import HouseholdRow, upsert_households
from storage.models import Account, Household
from tests.telegram.conftest import TICKET

WARD = "Phường 7"
QUESTION = "ខ្ញុំចង់សួរអំពីប្រាក់ឧបត្ថម្ភសម្រាប់គ្រួសារក្រីក្រ តើត្រូវដាក់ពាក្យនៅឯណា?"
ANSWER = "Hộ nghèo nộp hồ sơ tại UBND phường 7, không mất phí."


async def _locale_of(telegram, user_id: int) -> str | None:
    async with telegram.runtime.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_id == str(user_id)))
    return account.locale if account else None


async def _household(telegram, code: str, ethnicity: str) -> Household:
    row = HouseholdRow(
        code=code,
        head_name="Thạch Thị Sa Ly",
        gender="female",
        ethnicity=ethnicity,
        category="poor",
        ward=WARD,
        hamlet="Khóm 3",
    )
    async with telegram.runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=[row])
        return await session.scalar(select(Household).where(Household.code == code))


async def test_start_offers_three_languages_each_in_its_own_words_and_khmer_gives_the_consent_in_khmer(
    telegram,
):
    sok = telegram.chat(7101, "Sok")
    [welcome] = await sok.say("/start")
    assert welcome.button_texts[-3:] == ["Tiếng Việt", "English", "ភាសាខ្មែរ"]
    [khmer] = await sok.press("ភាសាខ្មែរ")
    # The consent statement, its buttons and the language buttons, nothing stored yet.
    assert khmer.text.startswith("សូមស្វាគមន៍")
    assert "ដោយមិនបញ្ចេញឈ្មោះក៏បាន" in khmer.text and "/xoa" in khmer.text
    assert khmer.button_texts == [
        "✅ ខ្ញុំយល់ព្រម",
        "ពេលក្រោយ",
        "Tiếng Việt",
        "English",
        "ភាសាខ្មែរ",
    ]
    assert await _locale_of(telegram, 7101) is None
    [menu] = await sok.press("ខ្ញុំយល់ព្រម")
    assert "ផ្ញើសំណួរ" in menu.text
    assert "✍️ ផ្ញើសំណួរ" in menu.button_texts and "🌐 ភាសា" in menu.button_texts
    assert await _locale_of(telegram, 7101) == "km"


async def test_ngonngu_switches_to_khmer_and_back_to_vietnamese(telegram):
    lan = await telegram.consenting(7102)
    [choices] = await lan.say("/ngonngu")
    assert choices.button_texts == ["🇻🇳 Tiếng Việt", "🇬🇧 English", "ភាសាខ្មែរ"]
    [switched] = await lan.press("ភាសាខ្មែរ")
    assert switched.text.startswith("ចាប់ពីពេលនេះតទៅ ខ្ញុំនឹងសរសេរជាភាសាខ្មែរ។")
    assert await _locale_of(telegram, 7102) == "km"
    [help_] = await lan.say("/trogiup")
    assert "/hoi – ផ្ញើសំណួរ" in help_.text
    [choices] = await lan.say("/language")
    assert "សូមជ្រើសរើសភាសារបស់លោកអ្នក" in choices.text
    [back] = await lan.press("Tiếng Việt")
    assert "tiếng Việt" in back.text
    assert await _locale_of(telegram, 7102) == "vi"


async def test_a_household_the_registry_says_is_khmer_is_asked_in_both_languages_and_nothing_changes_until_it_answers(
    telegram,
):
    household = await _household(telegram, "P7-KM1", "Khơ-me")
    chat = telegram.chat(7103, "Sa Ly")
    await chat.say(f"/start {household.link_code}")
    [linked] = await chat.press("Tôi đồng ý")
    assert "hộ Thạch Thị Sa Ly" in linked.text
    # Asked in Vietnamese, then in Khmer; the buttons answer, each in its own language.
    assert "bằng tiếng Khmer không?" in linked.text
    assert "តើលោកអ្នកចង់ឱ្យខ្ញុំសរសេរមកលោកអ្នកជាភាសាខ្មែរទេ?" in linked.text
    assert linked.text.index("tiếng Khmer") < linked.text.index("ភាសាខ្មែរ")
    assert linked.button_texts == ["ភាសាខ្មែរ", "Tiếng Việt"]
    assert await _locale_of(telegram, 7103) == "vi"  # never imposed
    [menu] = await chat.press("ភាសាខ្មែរ")
    assert menu.text.startswith("ចាប់ពីពេលនេះតទៅ ខ្ញុំនឹងសរសេរជាភាសាខ្មែរ។")
    assert "✍️ ផ្ញើសំណួរ" in menu.button_texts
    assert await _locale_of(telegram, 7103) == "km"


async def test_keeping_vietnamese_is_an_answer_too_and_a_kinh_household_is_not_asked(telegram):
    khmer = await _household(telegram, "P7-KM2", "Dân tộc Khmer")
    chat = telegram.chat(7104, "Kim")
    await chat.say(f"/start {khmer.link_code}")
    await chat.press("Tôi đồng ý")
    [menu] = await chat.press("Tiếng Việt")
    assert "✍️ Gửi câu hỏi" in menu.button_texts
    assert await _locale_of(telegram, 7104) == "vi"

    kinh = await _household(telegram, "P7-KI1", "Kinh")
    other = telegram.chat(7105, "Hai")
    await other.say(f"/start {kinh.link_code}")
    [linked] = await other.press("Tôi đồng ý")
    assert "Khmer" not in linked.text and "ភាសាខ្មែរ" not in linked.button_texts
    assert "✍️ Gửi câu hỏi" in linked.button_texts


async def test_a_khmer_speaker_asks_anonymously_in_khmer_and_receives_the_answer_in_khmer(
    telegram,
):
    facilitator = await telegram.staff(7110, role="facilitator", ward=WARD, name="Bà Mai")
    official = await telegram.staff(7111, role="official", agency="ldtbxh", name="Chị Hoa")
    household = await _household(telegram, "P7-KM3", "Khmer")
    sok = telegram.chat(7112, "Sok")
    await sok.say(f"/start {household.link_code}")
    await sok.press("ភាសាខ្មែរ")  # the consent statement in Khmer
    [asked] = await sok.press("ខ្ញុំយល់ព្រម")
    # Khmer was chosen already: the household is not asked again.
    assert "ភាសាខ្មែរទេ?" not in asked.text and "✍️ ផ្ញើសំណួរ" in asked.button_texts

    [topics] = await sok.say("/hoi")
    assert "តើសំណួររបស់លោកអ្នកនិយាយអំពីអ្វី?" in topics.text
    await sok.press("ការស្ទង់មតិគ្រួសារក្រីក្រ")
    [how] = await sok.say(QUESTION)
    assert "មន្ត្រីនឹងមិនដឹងថាអ្នកណាជាអ្នកសួរទេ" in how.text
    await sok.press("🕶 មិនបញ្ចេញឈ្មោះ")
    [receipt] = await sok.press("✅ ផ្ញើ")
    assert "លេខសំណួរ៖" in receipt.text
    ticket = TICKET.search(receipt.text).group(1)

    [card] = await facilitator.say("/duyet")
    assert QUESTION in card.text and "Người hỏi ẩn danh" in card.text and "Sok" not in card.text
    await facilitator.press("✅ Duyệt")
    await official.say("/hopthu")
    await official.press(f"#{ticket}")
    await official.press("✍️ Trả lời")
    await official.say(ANSWER)
    await official.press("📢 Công bố")

    [news] = await sok.expect(1)
    assert ANSWER in news.text and ticket in news.text
    assert "ចម្លើយ" in news.text
    assert news.button_texts == ["😊 ពេញចិត្ត", "🙁 មិនពេញចិត្ត"]


async def test_the_menu_of_commands_is_described_in_khmer_for_khmer_clients(telegram):
    await telegram.channel.register_commands()
    khmer = telegram.fake.commands[("all_private_chats", "km")]
    assert [c["command"] for c in khmer][:3] == ["hoi", "cauhoi", "ngonngu"]
    assert khmer[0]["description"] == "ផ្ញើសំណួរ"
    assert {c["description"] for c in khmer} >= {"សំណួររបស់ខ្ញុំ", "ភាសា", "ជំនួយ"}
    # Vietnamese stays everybody's default.
    default = telegram.fake.commands[("all_private_chats", "")]
    assert default[0]["description"] == "Gửi câu hỏi"


async def test_a_facilitator_who_reads_khmer_gets_the_digest_and_its_chart_in_khmer(telegram):
    facilitator = await telegram.staff(7120, role="facilitator", ward=WARD, name="Bà Mai")
    await facilitator.say("/ngonngu")
    await facilitator.press("ភាសាខ្មែរ")
    photo, text = await facilitator.say("/baocao", expect=2)
    assert photo.photo[:8] == b"\x89PNG\r\n\x1a\n"
    assert photo.text == "📊 របាយការណ៍ថ្ងៃ 20/11/2026"  # the caption: "Report of {date}"
    assert "កំពុងរង់ចាំការពិនិត្យ" in text.text  # waiting for moderation
