"""The whole circle with four people at once: an anonymous citizen asks, the facilitator
approves, a neighbour follows, the official answers, both receive it, the asker is not
satisfied and the question reopens; the digest and the exports follow. And through all of it,
nothing an official, the facilitator, a digest, an export or the database shows puts the
question beside the person who asked it."""

from __future__ import annotations

import asyncio
import io
import logging
import zipfile

import openpyxl
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import logs
from bot.cli.export import export_app
from storage.models import Account, Base, OutboxMessage, Question, Support

ASKER, FOLLOWER, FACILITATOR, OFFICIAL = 880001, 880002, 880003, 880004
ASKER_NAME = ("Thạch", "Sô Phia")
QUESTION = "Cán bộ ấp thu tiền khi làm hồ sơ hộ cận nghèo, có đúng quy định không?"
ANSWER = "Làm hồ sơ hộ cận nghèo không mất phí. Phường sẽ kiểm tra và trả lại tiền đã thu."


def _text(value: object) -> str:
    return value.hex() if isinstance(value, bytes) else str(value)


async def _rows(runtime):
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                yield table.name, dict(row)


async def _delivered(telegram) -> None:
    """Wait until the outbox has nothing left to send."""
    for _ in range(200):
        async with telegram.runtime.sessions() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "claimed", "sending")))
            )
        if not waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not empty")


async def test_an_anonymous_question_goes_round_the_whole_circle_and_never_names_its_asker(
    telegram, caplog, database_url, tmp_path
):
    caplog.set_level(logging.DEBUG)
    logs.cap_libraries()
    facilitator = await telegram.staff(
        FACILITATOR, role="facilitator", ward="Phường 7", name="Bà Mai"
    )
    official = await telegram.staff(OFFICIAL, role="official", agency="ldtbxh", name="Chị Hoa")
    asker = await telegram.consenting(ASKER, *ASKER_NAME)
    follower = await telegram.consenting(FOLLOWER, "Hùng")
    ticket = await telegram.ask(asker, QUESTION, topic="Rà soát", anonymous=True)

    # The facilitator sees the question, never its asker, and approves it.
    [card] = await facilitator.say("/duyet")
    assert QUESTION in card.text and "Người hỏi ẩn danh" in card.text
    for marker in (*ASKER_NAME, str(ASKER)):
        assert marker not in card.text
    await facilitator.press("✅ Duyệt")

    # A neighbour finds it among the dialogue's questions and follows it.
    [listing] = await follower.say("/xemcauhoi")
    assert ticket in listing.text
    await follower.press(f"Tôi cũng muốn hỏi #{ticket}")

    # The official sees it with one supporter and no asker, answers and publishes.
    await official.say("/hopthu")
    [card] = await official.press(f"#{ticket}")
    assert QUESTION in card.text and "Người hỏi ẩn danh" in card.text
    for marker in (*ASKER_NAME, str(ASKER)):
        assert marker not in card.text
    await official.press("✍️ Trả lời")
    await official.say(ANSWER)
    await official.press("📢 Công bố")

    # The asker (through the sealed handle) and the follower each receive it once.
    for person in (asker, follower):
        [news] = await person.expect(1)
        assert ANSWER in news.text and ticket in news.text
        assert "😊 Hài lòng" in news.button_texts and "🙁 Chưa hài lòng" in news.button_texts
    await _delivered(telegram)

    # The asker is not satisfied: the question goes back to the facilitator.
    await asker.press("Chưa hài lòng")
    await asker.press("Câu trả lời chưa đúng vào câu hỏi của tôi")
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
        account = await session.scalar(select(Account).where(Account.user_id == str(ASKER)))
        supports = list(await session.scalars(select(Support)))
    assert question.status == "reopened" and question.supporters == 1
    assert len(supports) == 1 and account is not None

    # The digest on demand reads the numbers and names nobody.
    digest = await facilitator.say("/baocao", expect=2)
    assert digest[0].photo[:8] == b"\x89PNG\r\n\x1a\n"
    for message in digest:
        for marker in (*ASKER_NAME, str(ASKER), QUESTION):
            assert marker not in message.text

    # The questions' spreadsheet holds the question and "Người hỏi ẩn danh", not the asker.
    out = tmp_path / "q.xlsx"
    env = {"DOITHOAI_DATABASE_URL": database_url, "DOITHOAI_SECRET_KEY": "k" * 40}
    result = await asyncio.to_thread(  # the command runs its own event loop
        CliRunner().invoke, export_app, ["questions", "0", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    cells = [
        str(c.value)
        for sheet in openpyxl.load_workbook(out)
        for row in sheet.iter_rows()
        for c in row
        if c.value is not None
    ]
    assert QUESTION in cells and "Người hỏi ẩn danh" in cells
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        everything = " ".join(
            archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
        )
    for marker in (*ASKER_NAME, str(ASKER)):
        assert marker not in everything

    # No row of any table holds both something of the question and something of the asker,
    # now that every message has gone (the sealed ones keep neither text nor recipient).
    await _delivered(telegram)
    of_question = [QUESTION, ANSWER, ticket]
    of_asker = [str(ASKER), *ASKER_NAME]
    async for table, row in _rows(telegram.runtime):
        text = " ".join(_text(v) for v in row.values())
        holds_question = any(m in text for m in of_question) or (
            table in ("questions", "supports", "feedback", "answers", "question_events")
            and question.id in text
        )
        holds_asker = any(m in text for m in of_asker) or (
            (table == "accounts" and row["id"] == account.id)
            or any(c.endswith("account_id") and v == account.id for c, v in row.items())
        )
        assert not (holds_question and holds_asker), (table, row)
        if table == "conversations":
            assert ticket not in text and QUESTION not in text

    # And no log line carries the question, its answer or its ticket.
    for record in caplog.records:
        line = record.getMessage()
        assert QUESTION not in line and ANSWER not in line and ticket not in line, line
