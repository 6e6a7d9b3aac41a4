"""Support from other citizens: browsing the approved questions of one's dialogues and pressing
"Tôi cũng muốn hỏi", end to end through the Bot API fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import select, update

from bot.core.messages import Address
from storage.dialogues import create_dialogue
from storage.households import HouseholdRow, upsert_households
from storage.models import Household, Question, Support

WARD, OTHER_WARD = "Phường 7", "Phường 9"


async def _households(runtime):
    rows = [
        HouseholdRow(
            code=code,
            head_name=name,
            gender="female",
            ethnicity="Kinh",
            category="poor",
            ward=ward,
            hamlet="Khóm 3",
            phone=f"09123460{n:02}",
        )
        for n, (code, name, ward) in enumerate(
            [
                ("P7-001", "Thạch Thị Sa Ly", WARD),
                ("P7-002", "Nguyễn Văn Hai", WARD),
                ("P7-003", "Lê Thị Ba", WARD),
                ("P9-001", "Kim Sô Phên", OTHER_WARD),
            ]
        )
    ]
    async with runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
        return {h.code: h for h in await session.scalars(select(Household))}


async def _dialogue(runtime, clock, title, ward):
    async with runtime.sessions() as session, session.begin():
        return await create_dialogue(
            session,
            title=title,
            starts_at=clock() + timedelta(days=5),
            venue="Hội trường UBND",
            question_deadline=clock() + timedelta(days=4),
            wards=[ward],
        )


async def _link(telegram, user_id, household, name):
    chat = telegram.chat(user_id, name)
    await chat.say(f"/start {household.link_code}")
    await chat.press("Tôi đồng ý")
    return chat


async def _set(runtime, ticket, **values):
    """What moderation would do (approve, mark sensitive), or supports counted earlier."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Question).where(Question.ticket == ticket).values(**values))


async def _question(runtime, ticket):
    async with runtime.sessions() as session:
        return await session.scalar(select(Question).where(Question.ticket == ticket))


async def _setting(telegram, clock):
    """A general question, and questions of the dialogues of two wards, in every status."""
    runtime = telegram.runtime
    households = await _households(runtime)
    stranger = await telegram.consenting(900, "Minh")  # not linked to any household
    general = await telegram.ask(stranger, "Khi nào có kết quả rà soát hộ nghèo toàn thành phố?")
    await _dialogue(runtime, clock, "Đối thoại giảm nghèo Phường 7", WARD)
    await _dialogue(runtime, clock, "Đối thoại giảm nghèo Phường 9", OTHER_WARD)
    lan = await _link(telegram, 901, households["P7-001"], "Lan")
    binh = await _link(telegram, 902, households["P7-002"], "Bình")
    kim = await _link(telegram, 904, households["P9-001"], "Kim")
    tickets = {
        "general": general,
        "few": await telegram.ask(lan, "Xin hỏi thủ tục vay vốn học nghề cho con ở khóm 3?"),
        "many": await telegram.ask(
            lan, "Vì sao nhà có xe hơi vẫn được xếp hộ cận nghèo?", anonymous=False
        ),
        "sensitive": await telegram.ask(lan, "Cán bộ khóm đòi tiền khi xác nhận hồ sơ của tôi."),
        "new": await telegram.ask(lan, "Câu hỏi này chưa được duyệt, xin đừng hiện ra."),
        "other_ward": await telegram.ask(kim, "Xin hỏi về lớp học nghề ở Phường 9 năm sau?"),
    }
    for name in ("general", "few", "many", "sensitive", "other_ward"):
        await _set(runtime, tickets[name], status="approved")
    await _set(runtime, tickets["general"], supporters=2)
    await _set(runtime, tickets["many"], supporters=5, status="answered")
    await _set(runtime, tickets["sensitive"], sensitive=True)
    return tickets, lan, binh, stranger


async def test_a_linked_citizen_sees_the_approved_questions_of_their_dialogue_most_supported_first(
    telegram, clock
):
    tickets, lan, binh, stranger = await _setting(telegram, clock)
    [page] = await binh.say("/xemcauhoi")
    assert page.text.startswith("Câu hỏi của các buổi đối thoại")
    shown = [b.split("#")[1] for b in page.button_texts if b.startswith("🙋 Tôi cũng muốn hỏi #")]
    assert shown == [tickets["many"], tickets["general"], tickets["few"]]
    assert f"#{tickets['many']} · Rà soát hộ nghèo, hộ cận nghèo · 👥5" in page.text
    assert "Vì sao nhà có xe hơi vẫn được xếp hộ cận nghèo?" in page.text
    for hidden in ("sensitive", "new", "other_ward"):
        assert tickets[hidden] not in page.text
    assert "đòi tiền" not in page.text and "Lan" not in page.text  # nothing of the asker

    # The asker sees her own questions marked as hers.
    [mine] = await lan.say("/browse")
    assert (
        f"#{tickets['few']} · Rà soát hộ nghèo, hộ cận nghèo · 👥0 · ✍️ câu hỏi của ông/bà"
        in mine.text
    )

    # Someone whose chat is linked to no household sees the general questions only.
    [general_only] = await stranger.say("/xemcauhoi")
    assert tickets["general"] in general_only.text
    assert tickets["many"] not in general_only.text and tickets["few"] not in general_only.text


async def test_i_have_this_question_too_counts_once_refuses_ones_own_and_makes_a_follower(
    telegram, clock
):
    runtime = telegram.runtime
    tickets, lan, binh, _stranger = await _setting(telegram, clock)
    households = await _households(runtime)
    ba = await _link(telegram, 903, households["P7-003"], "Ba")
    await binh.say("/xemcauhoi")
    await ba.say("/xemcauhoi")
    # Two people press at once: both count.
    pressed = await asyncio.gather(
        binh.press(f"Tôi cũng muốn hỏi #{tickets['few']}"),
        ba.press(f"Tôi cũng muốn hỏi #{tickets['few']}"),
    )
    texts = sorted(message.text for [message] in pressed)
    for text in texts:
        assert text.startswith(
            f"Xin cảm ơn: đã ghi nhận ông/bà cũng muốn hỏi câu #{tickets['few']}"
        )
    assert sorted(re.search(r"👥(\d+)", text).group(1) for text in texts) == ["1", "2"]
    assert (await _question(runtime, tickets["few"])).supporters == 2

    # Twice is once.
    await binh.say("/xemcauhoi")
    [again] = await binh.press(f"Tôi cũng muốn hỏi #{tickets['few']}")
    assert again.text == (
        f"Ông/bà đã theo dõi câu hỏi #{tickets['few']}: ông/bà sẽ nhận câu trả lời tại đây."
    )
    assert (await _question(runtime, tickets["few"])).supporters == 2
    [listed] = await binh.say("/xemcauhoi")
    assert (
        f"#{tickets['few']} · Rà soát hộ nghèo, hộ cận nghèo · 👥2 · ✅ ông/bà đang theo dõi"
        in (listed.text)
    )

    # One's own question, anonymous or named, is not counted.
    for name in ("few", "many"):
        await lan.say("/xemcauhoi")
        [own] = await lan.press(f"Tôi cũng muốn hỏi #{tickets[name]}")
        assert own.text.startswith(f"#{tickets[name]} là câu hỏi của chính ông/bà")
    assert (await _question(runtime, tickets["many"])).supporters == 5

    # A replayed button for a question one may not see is refused.
    for hidden in ("sensitive", "other_ward"):
        telegram.fake.press(
            binh.user_id,
            f"u:s:{tickets[hidden]}",
            message_id=telegram.fake.messages_to(binh.user_id)[-1].message_id,
        )
        [refused] = await binh.expect(1)
        assert refused.text == "Không thể ủng hộ câu hỏi này ở đây."
        assert (await _question(runtime, tickets[hidden])).supporters == 0

    # The support holds no account: a keyed hash and a sealed handle that reaches Bình.
    few = await _question(runtime, tickets["few"])
    async with runtime.sessions() as session:
        supports = list(await session.scalars(select(Support).where(Support.question_id == few.id)))
    assert set(Support.__table__.columns.keys()) == {
        "question_id",
        "supporter_hash",
        "reply_handle",
        "supported_on",
    }
    sealer = runtime.dispatcher.sealer
    assert {sealer.open(s.reply_handle) for s in supports} == {
        Address("telegram", "902"),
        Address("telegram", "903"),
    }
    assert all(re.fullmatch(r"[0-9a-f]{64}", s.supporter_hash) for s in supports)

    # /xoa takes the support and its count away.
    await binh.say("/xoa")
    await binh.press("Xoá dữ liệu của tôi")
    assert (await _question(runtime, tickets["few"])).supporters == 1
    async with runtime.sessions() as session:
        left = list(await session.scalars(select(Support)))
    assert [sealer.open(s.reply_handle) for s in left] == [Address("telegram", "903")]


async def test_the_list_comes_in_pages_of_five(telegram, clock):
    runtime = telegram.runtime
    asker = await telegram.consenting(910, "Hoa")
    tickets = [
        await telegram.ask(asker, f"Câu hỏi số {n} về chương trình giảm nghèo năm nay?")
        for n in range(7)
    ]
    for n, ticket in enumerate(tickets):
        await _set(runtime, ticket, status="approved", supporters=10 - n)
    reader = await telegram.consenting(911, "Tư")
    [first] = await reader.say("/xemcauhoi")
    assert [b for b in first.button_texts if "#" in b] == [
        f"🙋 Tôi cũng muốn hỏi #{t}" for t in tickets[:5]
    ]
    assert "Trang 1/2" in first.text and first.button_texts[-1] == "➡️ Xem thêm"
    [second] = await reader.press("Xem thêm")
    assert [b for b in second.button_texts if "#" in b] == [
        f"🙋 Tôi cũng muốn hỏi #{t}" for t in tickets[5:]
    ]
    assert "Trang 2/2" in second.text and "➡️ Xem thêm" not in second.button_texts
