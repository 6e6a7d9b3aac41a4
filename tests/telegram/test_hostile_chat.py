"""Hostile chat input through the real PTB path, on SQLite and PostgreSQL (issue 12).

The labelled corpus (tests/fixtures/hostile/chat.json) is sent as a person would: question
texts with NUL, controls, bidi overrides, right-to-left script, emoji, decomposed letters and
over-long; profile names alike; button data forged by hand for every prefix. For each: no
traceback and nothing at ERROR in the log, an answer to the person, and nothing stored that
should not be.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import func, select

from bot.core.i18n import Translator
from storage.models import (
    Account,
    Answer,
    Commitment,
    Feedback,
    HouseholdLink,
    Invitation,
    LinkAttempt,
    Question,
    QuestionEvent,
    Staff,
    Support,
)
from tests.telegram.conftest import TICKET, Chat, Harness

CORPUS = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "hostile" / "chat.json").read_text("utf-8")
)
_VI = Translator("vi")
REFUSED = "button data refused"


def vi(msgid: str) -> str:
    return _VI._(msgid)


def troubles(caplog) -> list[str]:
    """What must never be logged for anything a person sends: errors and tracebacks."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def counts(telegram: Harness) -> dict[str, int]:
    tables = (Account, Question, Answer, Commitment, Support, Feedback, QuestionEvent)
    tables += (HouseholdLink, Invitation, LinkAttempt, Staff)
    async with telegram.runtime.sessions() as session:
        return {
            table.__tablename__: await session.scalar(select(func.count()).select_from(table))
            for table in tables
        }


async def test_hostile_question_texts_are_cleaned_once_and_stored_or_refused_with_an_answer(
    telegram: Harness, caplog
):
    caplog.set_level(logging.INFO)
    lan = await telegram.consenting(7001)
    for entry in CORPUS["texts"]:
        await lan.say("/hoi")
        await lan.press("Rà soát")
        if entry["stored"] is None:
            # Refused: said why (empty, or too long and given back to copy), nothing stored.
            replies = await lan.say(entry["text"], expect=2 if len(entry["text"]) > 1000 else 1)
            assert replies[0].text, entry["label"]
            await lan.say("/huy")
            continue
        [how] = await lan.say(entry["text"])
        assert "Ẩn danh" in str(how.buttons), entry["label"]
        await lan.press("Ẩn danh")
        [receipt] = await lan.press("✅ Gửi")
        ticket = TICKET.search(receipt.text)
        assert ticket is not None, (entry["label"], receipt.text)
        async with telegram.runtime.sessions() as session:
            stored = await session.scalar(
                select(Question.text).where(Question.ticket == ticket.group(1))
            )
        assert stored == entry["stored"], entry["label"]
        assert troubles(caplog) == [], entry["label"]
    async with telegram.runtime.sessions() as session:
        kept = await session.scalar(select(func.count()).select_from(Question))
    assert kept == sum(1 for e in CORPUS["texts"] if e["stored"] is not None)
    assert troubles(caplog) == []


async def test_hostile_profile_names_are_cleaned_before_the_account_is_stored(
    telegram: Harness, caplog
):
    caplog.set_level(logging.INFO)
    for number, entry in enumerate(CORPUS["names"]):
        chat = telegram.chat(7100 + number, entry["first_name"], entry["last_name"])
        await chat.say("/start")
        [menu] = await chat.press("Tôi đồng ý")
        assert menu.text, entry["label"]
        async with telegram.runtime.sessions() as session:
            name = await session.scalar(
                select(Account.display_name).where(Account.user_id == str(chat.user_id))
            )
        assert name == entry["stored"], entry["label"]
        assert troubles(caplog) == [], entry["label"]


async def test_forged_buttons_of_every_prefix_get_one_answer_no_traceback_and_change_nothing(
    telegram: Harness, caplog
):
    caplog.set_level(logging.INFO)
    chats: dict[str, Chat] = {
        "citizen": await telegram.consenting(7201),
        "official": await telegram.staff(7202, role="official", agency="ldtbxh"),
        "facilitator": await telegram.staff(7203, role="facilitator", ward="Phường 7"),
        "stranger": telegram.chat(7204),
    }
    await chats["stranger"].say("/start")
    before = await counts(telegram)
    for entry in CORPUS["buttons"]:
        chat = chats[entry["as"]]
        refused = sum(1 for r in caplog.records if r.getMessage().startswith(REFUSED))
        last = telegram.fake.messages_to(chat.user_id)[-1]
        telegram.fake.press(chat.user_id, entry["data"], message_id=last.message_id)
        [answer] = await chat.expect(1)
        if entry["as"] == "stranger":
            assert "Tôi đồng ý" in str(answer.buttons), entry["label"]  # the consent, again
        else:
            assert vi("That button is from an earlier message. What would you like to do?") in (
                answer.text
            ), entry["label"]
        logged = [r for r in caplog.records if r.getMessage().startswith(REFUSED)]
        assert len(logged) == refused + 1 and logged[-1].levelno == logging.INFO, entry["label"]
        if len(entry["data"]) > 3:  # the log says what was refused, never the data itself
            assert entry["data"] not in logged[-1].getMessage(), entry["label"]
        assert troubles(caplog) == [], entry["label"]
    assert await counts(telegram) == before
    # Every press was answered (the harness checks it too) with no call Telegram refuses.
    await telegram.fake.await_call("answerCallbackQuery", len(CORPUS["buttons"]))
    assert telegram.fake.violations == []


async def test_a_second_press_of_the_same_button_takes_the_keyboard_away_only_once(
    telegram: Harness,
):
    lan = await telegram.consenting(7301)
    answered = len(await telegram.fake.await_call("answerCallbackQuery", 1))
    data = lan.button("Câu hỏi của tôi")
    # A double tap: both presses leave the app before it sees the keyboard go.
    first = telegram.fake.press(lan.user_id, data, push=False)
    second = telegram.fake.press(lan.user_id, data, push=False)
    telegram.fake.push_update(first)
    telegram.fake.push_update(second)
    replies = await lan.expect(2)
    assert all(r.text for r in replies)
    await telegram.fake.await_call("answerCallbackQuery", answered + 2)
    edits = await telegram.fake.await_call("editMessageReplyMarkup", 2)  # consent's, menu's
    menu = first["callback_query"]["message"]["message_id"]
    assert [int(c.params["message_id"]) for c in edits].count(menu) == 1
    assert telegram.fake.violations == []  # no 400 "message is not modified"


async def test_the_eighth_wrong_household_code_says_too_many_attempts_not_code_invalid(
    telegram: Harness,
):
    chat = telegram.chat(7401)
    too_many = vi("Too many wrong codes. Please try again in {minutes} minutes.").split("{")[0]
    invalid = vi(
        "The code {code} is not valid or has expired. Please check the link or the "
        "invitation letter, or ask the ward office."
    )
    for attempt in range(1, 9):
        code = f"WRONG{attempt:03d}"
        [reply] = await chat.say(f"/start {code}")
        if attempt < 5:
            assert invalid.format(code=code) in reply.text and too_many not in reply.text
    assert too_many in reply.text and invalid.format(code=code) not in reply.text


async def test_staff_replaying_a_button_of_the_other_role_are_told_whom_it_is_for(
    telegram: Harness,
):
    facilitator = await telegram.staff(7501, role="facilitator", ward="Phường 7")
    official = await telegram.staff(7502, role="official", agency="ldtbxh")
    vague = vi("This is for officials and facilitators only.")
    for chat, data, meant in (
        (
            facilitator,
            "o:i",
            "This is for the officials who answer for an agency; you are the facilitator of "
            "your ward. Type /trogiup to see what you can do.",
        ),
        (
            official,
            "s:q",
            "This is for the ward's facilitator; you are an official of your agency. Type "
            "/trogiup to see what you can do.",
        ),
    ):
        last = telegram.fake.messages_to(chat.user_id)[-1]
        telegram.fake.press(chat.user_id, data, message_id=last.message_id)
        [reply] = await chat.expect(1)
        assert reply.text == vi(meant) and vague not in reply.text
