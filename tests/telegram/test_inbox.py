"""An official's inbox end to end: the most supported first, anonymous cards, answers,
commitments and their follow-up, forwarding, and replayed buttons refused.

Texts are compared through the Vietnamese catalog (`vi(...)`), so the tests read what a person
sees whether or not a translation has been merged yet.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select, update

from bot.core.i18n import Translator
from bot.core.messages import Address
from storage.models import Account, Answer, Commitment, Question, QuestionEvent, Support
from tests.telegram.conftest import Chat, Harness

_VI = Translator("vi")
TODAY = date(2026, 11, 20)  # the clock fixture's day in Hà Nội


def vi(msgid: str) -> str:
    return _VI._(msgid)


async def question(telegram: Harness, ticket: str) -> Question:
    async with telegram.runtime.sessions() as session:
        found = await session.scalar(select(Question).where(Question.ticket == ticket))
    assert found is not None
    return found


async def approve(telegram: Harness, ticket: str, *, supporters: int = 0) -> None:
    """Moderation is another flow: the facilitator's approval is given in the database."""
    async with telegram.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Question)
            .where(Question.ticket == ticket)
            .values(status="approved", supporters=supporters)
        )


async def follow(telegram: Harness, ticket: str, user_id: int) -> None:
    """The citizen pressed "Tôi cũng muốn hỏi" (browsing is another flow): a Support row."""
    sealer = telegram.runtime.dispatcher.sealer
    address = Address("telegram", str(user_id))
    async with telegram.runtime.sessions() as session, session.begin():
        account = await session.scalar(select(Account).where(Account.user_id == str(user_id)))
        found = await session.scalar(select(Question).where(Question.ticket == ticket))
        assert account is not None and found is not None
        session.add(
            Support(
                question_id=found.id,
                supporter_hash=sealer.asker_hash(account.asker_salt, address),
                reply_handle=sealer.seal(address),
                supported_on=TODAY,
            )
        )
        found.supporters += 1


async def approved_question(
    telegram: Harness, chat: Chat, text: str, *, topic: str = "Rà soát", anonymous: bool = True
) -> str:
    ticket = await telegram.ask(chat, text, topic=topic, anonymous=anonymous)
    await approve(telegram, ticket)
    return ticket


async def open_card(official: Chat, ticket: str) -> str:
    await official.say("/hopthu")
    [card] = await official.press(f"#{ticket}")
    return card.text


async def replay(telegram: Harness, chat: Chat, data: str) -> list:
    """Press a button with `data` on the chat's last bot message, whatever it shows: a button
    copied from elsewhere, as a replay attack would."""
    last = telegram.fake.messages_to(chat.user_id)[-1]
    telegram.fake.press(chat.user_id, data, message_id=last.message_id)
    return await chat.expect(1)


async def test_an_official_sees_the_most_supported_questions_first(telegram):
    lan = await telegram.consenting(4001, "Lan")
    official = await telegram.staff(4002, role="official", agency="ldtbxh", name="Chị Hoa")
    few = await approved_question(telegram, lan, "Hộ tôi có được rà soát lại không ạ?")
    most = await approved_question(telegram, lan, "Khi nào công bố danh sách hộ cận nghèo?")
    some = await approved_question(telegram, lan, "Tiêu chí hộ nghèo năm nay thế nào ạ?")
    done = await approved_question(telegram, lan, "Ai chấm điểm hộ nghèo ở khóm 3 vậy?")
    waiting = await telegram.ask(lan, "Câu hỏi này còn chờ duyệt, chưa được gửi đi.")
    elsewhere = await approved_question(
        telegram, lan, "Vay vốn học nghề cần giấy tờ gì?", topic="Tín dụng"
    )
    async with telegram.runtime.sessions() as session, session.begin():
        for ticket, count, status in (
            (few, 1, "approved"),
            (most, 7, "approved"),
            (some, 3, "approved"),
            (done, 12, "answered"),
        ):
            await session.execute(
                update(Question)
                .where(Question.ticket == ticket)
                .values(supporters=count, status=status)
            )

    [inbox] = await official.say("/hopthu")

    labels = [b for b in inbox.button_texts if b.startswith("#")]
    assert [label.split(" · ")[0] for label in labels] == [
        f"#{most}",
        f"#{some}",
        f"#{few}",
        f"#{done}",  # already answered: after those still waiting, however supported
    ]
    assert labels[0] == f"#{most} · 👥7 · {vi('⏳ waiting')}"
    assert labels[3] == f"#{done} · 👥12 · {vi('✅ answered')}"
    assert waiting not in inbox.text and elsewhere not in inbox.text
    assert vi("📌 Our commitments") in inbox.button_texts


async def test_the_inbox_pages_five_questions_at_a_time(telegram):
    lan = await telegram.consenting(4011, "Lan")
    official = await telegram.staff(4012, role="official", agency="ldtbxh")
    tickets = [
        await approved_question(telegram, lan, f"Câu hỏi số {n} về rà soát hộ nghèo")
        for n in range(7)
    ]
    [first] = await official.say("/hopthu")
    assert len([b for b in first.button_texts if b.startswith("#")]) == 5
    [second] = await official.press(vi("Next ▶️"))
    shown = [b.split(" · ")[0][1:] for b in second.button_texts if b.startswith("#")]
    assert len(shown) == 2 and set(shown) <= set(tickets)
    assert vi("◀️ Previous") in second.button_texts


async def test_a_card_of_an_anonymous_question_shows_neither_the_askers_name_nor_chat_id(
    telegram,
):
    asker = await telegram.consenting(4021, "Thạch", "Sô Phia")
    named = await telegram.consenting(4022, "Nguyễn", "Văn Ba")
    official = await telegram.staff(4023, role="official", agency="ldtbxh")
    secret = await approved_question(
        telegram, asker, "Cán bộ ấp thu tiền khi làm hồ sơ hộ cận nghèo, có đúng không?"
    )
    open_ = await approved_question(
        telegram, named, "Xin hỏi lịch rà soát hộ nghèo năm nay?", anonymous=False
    )

    card = await open_card(official, secret)

    assert vi("Anonymous asker") in card
    assert "Cán bộ ấp thu tiền" in card and "20/11/2026" in card
    assert vi("general questions") in card
    for trace in ("Thạch", "Sô Phia", "4021"):
        assert trace not in card
    named_card = await open_card(official, open_)
    assert "Nguyễn Văn Ba" in named_card and vi("Anonymous asker") not in named_card


async def test_an_official_of_another_agency_and_a_citizen_replaying_inbox_buttons_are_refused(
    telegram, caplog
):
    caplog.set_level(logging.WARNING)
    asker = await telegram.consenting(4031, "Lan")
    official = await telegram.staff(4032, role="official", agency="ldtbxh")
    other = await telegram.staff(4033, role="official", agency="yte")
    ticket = await approved_question(telegram, asker, "Hộ tôi bị loại khỏi danh sách cận nghèo?")
    await open_card(official, ticket)

    for data in (f"o:q:{ticket}", f"o:a:{ticket}", f"o:w:{ticket}", f"o:wt:{ticket}:yte"):
        [refused] = await replay(telegram, other, data)
        assert vi("This question is not in your agency's inbox.") in refused.text
        assert "Hộ tôi bị loại" not in refused.text
    [refused] = await replay(telegram, asker, f"o:a:{ticket}")
    assert vi("This is for officials and facilitators only.") in refused.text
    [refused] = await asker.say("/hopthu")
    assert vi("This is for officials and facilitators only.") in refused.text

    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("outside their agency" in line for line in logged) == 4
    assert sum("needs role official" in line for line in logged) == 2
    assert not any("Hộ tôi" in line or "4031" in line for line in logged)
    found = await question(telegram, ticket)
    assert found.agency == "ldtbxh" and found.status == "approved"


async def test_an_answer_is_previewed_checked_for_length_and_published_once(telegram):
    asker = await telegram.consenting(4041, "Lan")
    official = await telegram.staff(4042, role="official", agency="ldtbxh", name="Chị Hoa")
    ticket = await approved_question(telegram, asker, "Khi nào có kết quả rà soát hộ nghèo?")
    await open_card(official, ticket)
    [prompt] = await official.press(vi("✍️ Answer"))
    assert ticket in prompt.text
    [short] = await official.say("Sắp có.")
    assert "10" in short.text and "3000" in short.text
    [preview] = await official.say("Kết quả sẽ niêm yết tại UBND phường ngày 30/11.")
    assert vi("Preview of your answer") in preview.text
    assert preview.button_texts == [vi("📢 Publish"), vi("✏️ Rewrite"), vi("❌ Cancel")]
    await official.press(vi("✏️ Rewrite"))
    await official.say("Kết quả rà soát sẽ niêm yết tại UBND phường từ ngày 30/11/2026.")
    publish = official.button(vi("📢 Publish"))
    [done] = await official.press(vi("📢 Publish"))
    assert ticket in done.text
    [news] = await asker.expect(1)
    assert "niêm yết tại UBND phường từ ngày 30/11/2026" in news.text

    async with telegram.runtime.sessions() as session:
        [answer] = list(await session.scalars(select(Answer)))
        kinds = list(await session.scalars(select(QuestionEvent.kind)))
    assert answer.agency == "ldtbxh" and not answer.in_room and answer.staff_id is not None
    assert kinds == ["answered"]
    assert (await question(telegram, ticket)).status == "answered"
    [stale] = await replay(telegram, official, publish)  # the preview's button, pressed again
    assert vi("That button is from an earlier message.") in stale.text
    async with telegram.runtime.sessions() as session:
        assert len(list(await session.scalars(select(Answer)))) == 1
    card = await open_card(official, ticket)
    assert "niêm yết tại UBND phường" in card


async def test_a_commitment_with_the_default_deadline_is_stored_and_pushed(telegram):
    asker = await telegram.consenting(4051, "Lan")
    follower = await telegram.consenting(4052, "Hoa")
    official = await telegram.staff(4053, role="official", agency="ldtbxh", name="Chị Hoa")
    ticket = await approved_question(telegram, asker, "Đường vào khóm 4 ngập, khi nào sửa?")
    await follow(telegram, ticket, 4052)
    await open_card(official, ticket)
    await official.press(vi("🤝 Commitment"))
    [deadline] = await official.say("Khảo sát và lập dự toán sửa đường vào khóm 4.")
    assert deadline.button_texts[0].startswith(
        vi("In {days} days (default) · {date}").split("{")[0]
    )
    assert "05/12/2026" in deadline.button_texts[0]
    [who] = await official.press("15")
    assert vi("Labour, Invalids and Social Affairs Office") in who.button_texts
    [preview] = await official.press(vi("Labour, Invalids and Social Affairs Office"))
    assert "05/12/2026" in preview.text and "Khảo sát" in preview.text
    await official.press(vi("📢 Publish"))

    for chat in (asker, follower):
        [news] = await chat.expect(1)
        assert vi("A commitment was made") in news.text
        assert "Khảo sát và lập dự toán" in news.text and "05/12/2026" in news.text
        assert news.button_texts == [vi("😊 Satisfied"), vi("🙁 Not satisfied")]
    async with telegram.runtime.sessions() as session:
        [commitment] = list(await session.scalars(select(Commitment)))
    found = await question(telegram, ticket)
    assert commitment.due_on == TODAY + timedelta(days=15)
    assert commitment.question_id == found.id and commitment.dialogue_id == found.dialogue_id
    assert (commitment.version, commitment.status, commitment.agency) == (1, "open", "ldtbxh")
    assert commitment.responsible == vi("Labour, Invalids and Social Affairs Office")
    assert found.status == "committed"
    [mine] = await asker.say("/cauhoi")
    assert vi("commitment made, deadline {date}").format(date="05/12/2026") in mine.text


async def test_another_date_must_be_readable_and_not_in_the_past(telegram):
    asker = await telegram.consenting(4061, "Lan")
    official = await telegram.staff(4062, role="official", agency="ldtbxh")
    ticket = await approved_question(telegram, asker, "Nhà văn hoá khóm 2 xuống cấp, ai sửa?")
    await open_card(official, ticket)
    await official.press(vi("🤝 Commitment"))
    await official.say("Sửa mái nhà văn hoá khóm 2 trước Tết.")
    [ask_date] = await official.press(vi("📅 Another date"))
    assert "dd/mm/yyyy" in ask_date.text
    [unreadable] = await official.say("cuối tháng")
    assert "dd/mm/yyyy" in unreadable.text
    [past] = await official.say("01/11/2026")
    assert past.text == vi(
        "The deadline cannot be in the past. Please type today's date or a later one."
    )
    await official.say("15/01/2027")
    await official.say("Tổ dân phố khóm 2")
    await official.press(vi("📢 Publish"))
    await asker.expect(1)
    async with telegram.runtime.sessions() as session:
        [commitment] = list(await session.scalars(select(Commitment)))
    assert commitment.due_on == date(2027, 1, 15)
    assert commitment.responsible == "Tổ dân phố khóm 2"


async def test_progress_and_fulfilment_reach_the_asker_once_each(telegram):
    asker = await telegram.consenting(4071, "Lan")
    official = await telegram.staff(4072, role="official", agency="ldtbxh")
    ticket = await approved_question(telegram, asker, "Khi nào hỗ trợ bò giống cho hộ nghèo?")
    await open_card(official, ticket)
    await official.press(vi("🤝 Commitment"))
    await official.say("Cấp bò giống cho 10 hộ nghèo khóm 5.")
    await official.press("15")
    await official.say("Tổ giảm nghèo phường")
    await official.press(vi("📢 Publish"))
    await asker.expect(1)

    await official.say("/hopthu")
    [listing] = await official.press(vi("📌 Our commitments"))
    assert "05/12/2026" in listing.text and f"#{ticket}" in listing.text
    [card] = await official.press(f"#{ticket}")
    assert "Cấp bò giống" in card.text
    await official.press(vi("📝 Update progress"))
    await official.say("Đã chọn xong 10 hộ, chờ nhận bò.")
    await official.press(vi("📢 Publish"))
    [progress] = await asker.expect(1)
    assert vi("A commitment was updated") in progress.text
    assert "Đã chọn xong 10 hộ" in progress.text

    await official.say("/hopthu")
    await official.press(vi("📌 Our commitments"))
    await official.press(f"#{ticket}")
    await official.press(vi("✅ Fulfilled"))
    [fulfilled] = await asker.expect(1)
    assert vi("A commitment was fulfilled") in fulfilled.text
    async with telegram.runtime.sessions() as session:
        [commitment] = list(await session.scalars(select(Commitment)))
    [again] = await replay(telegram, official, f"o:kf:{commitment.id}")
    assert vi("This commitment is already fulfilled.") in again.text
    async with telegram.runtime.sessions() as session:
        kinds = list(await session.scalars(select(QuestionEvent.kind).order_by(QuestionEvent.id)))
    assert (commitment.status, commitment.version, commitment.fulfilled_on) == (
        "fulfilled",
        3,
        TODAY,
    )
    assert kinds == ["committed", "commitment_updated", "fulfilled"]
    assert (await question(telegram, ticket)).status == "fulfilled"
    assert len(telegram.fake.messages_to(asker.user_id)) == asker.seen


async def test_forwarding_moves_the_question_to_the_other_agencys_inbox_and_tells_its_official(
    telegram,
):
    asker = await telegram.consenting(4081, "Lan")
    official = await telegram.staff(4082, role="official", agency="ldtbxh", name="Chị Hoa")
    banker = await telegram.staff(4083, role="official", agency="nhcsxh", name="Anh Nam")
    ticket = await approved_question(telegram, asker, "Hộ cận nghèo vay vốn làm nhà được không?")
    await open_card(official, ticket)
    [choices] = await official.press(vi("↪️ Forward to another agency"))
    assert vi("Social Policy Bank") in choices.button_texts
    assert vi("Labour, Invalids and Social Affairs Office") not in choices.button_texts
    await official.press(vi("Social Policy Bank"))
    [done] = await official.say("Câu hỏi về vay vốn nhà ở, thuộc Ngân hàng CSXH.")
    assert ticket in done.text

    [told] = await banker.expect(1)
    assert ticket in told.text and "thuộc Ngân hàng CSXH" in told.text
    assert ("📥" in "".join(told.button_texts)) and any(
        data == "o:i" for row in told.buttons for _, data in row
    )
    [inbox] = await banker.press(vi("📥 Open the inbox"))
    assert f"#{ticket}" in inbox.text
    [own] = await official.say("/hopthu")
    assert f"#{ticket}" not in own.text
    found = await question(telegram, ticket)
    assert found.agency == "nhcsxh"
    async with telegram.runtime.sessions() as session:
        [event] = list(await session.scalars(select(QuestionEvent)))
    assert (event.kind, event.note) == (
        "forwarded",
        "Câu hỏi về vay vốn nhà ở, thuộc Ngân hàng CSXH.",
    )
    # The first agency's buttons no longer work on it.
    [refused] = await replay(telegram, official, f"o:a:{ticket}")
    assert vi("This question is not in your agency's inbox.") in refused.text


async def test_answered_at_the_dialogue_with_a_summary_reaches_the_asker(telegram):
    asker = await telegram.consenting(4091, "Lan")
    official = await telegram.staff(4092, role="official", agency="ldtbxh")
    ticket = await approved_question(telegram, asker, "Chế độ cho người khuyết tật thế nào?")
    await open_card(official, ticket)
    await official.press(vi("🏛 Answered at the dialogue"))
    await official.say("Đã giải thích mức trợ cấp hằng tháng tại buổi đối thoại.")
    [news] = await asker.expect(1)
    assert vi("🏛 Answered at the dialogue.") in news.text
    assert "mức trợ cấp hằng tháng" in news.text
    found = await question(telegram, ticket)
    assert found.answered_in_room and found.status == "answered"
    async with telegram.runtime.sessions() as session:
        [answer] = list(await session.scalars(select(Answer)))
        kinds = list(await session.scalars(select(QuestionEvent.kind)))
    assert answer.in_room and kinds == ["in_room"]
