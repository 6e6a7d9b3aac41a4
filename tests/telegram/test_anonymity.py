"""Anonymity as an invariant: after the flows, no row links a question to its asker, and no
log line puts a question beside a chat."""

from __future__ import annotations

import logging

from sqlalchemy import DateTime, select

from bot import logs
from storage.models import Account, Base, Question
from tests.telegram.conftest import Harness
from tests.telegram.test_officials_end_to_end import _delivered

ASKER_CHAT = 987654321
ASKER_NAME = ("Thạch", "Sô Phia")
QUESTION = "Cán bộ ấp thu tiền khi làm hồ sơ hộ cận nghèo, có đúng quy định không?"


async def _ask_anonymously(telegram: Harness) -> None:
    asker = await telegram.consenting(ASKER_CHAT, *ASKER_NAME)
    await asker.say("/hoi")
    await asker.press("Rà soát")
    await asker.say(QUESTION)
    await asker.press("Ẩn danh")
    await asker.press("✅ Gửi")
    await asker.say("/cauhoi")
    await telegram.settled()


async def _all_rows(runtime) -> list[tuple[str, dict[str, object]]]:
    rows = []
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                rows.append((table.name, dict(row)))
    return rows


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


async def test_no_row_holds_both_something_of_the_question_and_something_of_the_asker(
    telegram, caplog
):
    caplog.set_level(logging.DEBUG)
    logs.cap_libraries()  # as the service runs: its own lines at DEBUG, libraries capped
    await _ask_anonymously(telegram)
    # The last reply reached the chat a moment before its row was recorded as sent (and its
    # text dropped): scan once every row is settled.
    await _delivered(telegram)
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question))
        account = await session.scalar(select(Account))
    assert question.anonymous and question.text == QUESTION
    of_question = [QUESTION, question.ticket]
    of_asker = [str(ASKER_CHAT), *ASKER_NAME]

    rows = await _all_rows(telegram.runtime)
    checked = 0
    for table, row in rows:
        text = " ".join(_as_text(v) for v in row.values())
        holds_question = any(marker in text for marker in of_question) or (
            table == "questions" and row["id"] == question.id
        )
        holds_asker = (
            any(marker in text for marker in of_asker)
            or (table == "accounts" and row["id"] == account.id)
            or any(
                column.endswith("account_id") and value == account.id
                for column, value in row.items()
            )
        )
        assert not (holds_question and holds_asker), (table, row)
        checked += holds_question
    assert checked >= 1  # the question itself was looked at

    # The question carries the day, never an instant that could match the asker's messages.
    assert not any(isinstance(c.type, DateTime) for c in Question.__table__.columns)
    assert question.submitted_on.isoformat() == "2026-11-20"

    # The draft is gone from the conversation state, and the receipt's text from the outbox.
    assert not [r for t, r in rows if t == "conversations" and QUESTION in _as_text(r["data"])]
    assert all(r["body"] is None for t, r in rows if t == "outbox" and r["status"] == "sent")

    # No log line names the question or its ticket (so none puts them beside a chat id).
    for record in caplog.records:
        line = record.getMessage()
        assert QUESTION not in line and question.ticket not in line, line


async def test_the_asker_is_still_found_by_the_keyed_hash_and_reached_by_the_sealed_handle(
    telegram,
):
    await _ask_anonymously(telegram)
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question))
        account = await session.scalar(select(Account))
    sealer = telegram.runtime.dispatcher.sealer
    address = sealer.open(question.reply_handle)
    assert (address.channel, address.user_id) == ("telegram", str(ASKER_CHAT))
    assert question.asker_hash == sealer.asker_hash(account.asker_salt, address)
    assert question.asker_hash != sealer.asker_hash(b"another salt" * 2, address)
    assert str(ASKER_CHAT).encode() not in question.reply_handle


def test_a_sealed_handle_says_nothing_about_when_it_was_made():
    from bot.core.anonymity import Sealer
    from bot.core.messages import Address

    sealer = Sealer("k" * 40)
    one, two = sealer.seal(Address("telegram", "1")), sealer.seal(Address("telegram", "1"))
    assert one != two  # random nonce, no timestamp, no link between two handles
    assert sealer.open(one) == sealer.open(two) == Address("telegram", "1")
    try:
        Sealer("x" * 40).open(one)
    except ValueError:
        pass
    else:
        raise AssertionError("a handle opened with another SECRET_KEY")
