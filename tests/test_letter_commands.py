"""Printed letters through the organiser's commands: printed once, the replacement of a decline
printed alone, a move naming the households holding a letter with the old time (and `invite
--letters --changed` printing theirs again), `undelivered` listing them until then, a cancel
naming them, and attendance counted against the invitations that stand."""

from __future__ import annotations

import asyncio
import re

from docx import Document
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli.dialogues import dialogue_app
from storage.db import create_engine, session_factory
from storage.models import Household, Invitation
from tests.test_dialogue_commands import REGISTRY
from tests.test_households import households


def _doithoai(url: str, *args: str):
    """`doithoai dialogue ARGS` on the database at URL, in Vietnamese, as run in a terminal."""
    assert args[0] == "dialogue"
    env = {
        "DOITHOAI_DATABASE_URL": url,
        "DOITHOAI_SECRET_KEY": "s" * 40,
        "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_phuong7_bot",
        "DOITHOAI_TELEGRAM_TOKEN": None,
        "DOITHOAI_DEFAULT_LOCALE": None,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(dialogue_app, list(args[1:]), env=env)


def _ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


async def _invitations(url) -> dict[str, Invitation]:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(Household.code, Invitation)
            .join(Invitation, Invitation.household_id == Household.id)
            .order_by(Invitation.group, Invitation.rank)
        )
        found = {code: invitation for code, invitation in rows}
    await engine.dispose()
    return found


async def _decline_and_promote(url, code: str) -> str:
    """What a decline in the chat does: the seat goes to the next of the same group."""
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        household_id = await session.scalar(select(Household.id).where(Household.code == code))
        invitation = await session.scalar(
            select(Invitation).where(Invitation.household_id == household_id)
        )
        invitation.status = "declined"
        following = await session.scalar(
            select(Invitation)
            .where(Invitation.group == invitation.group, Invitation.status == "waitlist")
            .order_by(Invitation.rank)
            .limit(1)
        )
        following.status = "selected"
        replacement = await session.scalar(
            select(Household.code).where(Household.id == following.household_id)
        )
    await engine.dispose()
    return replacement


def _prepare(url: str) -> str:
    imported = households("import", str(REGISTRY), url=url)
    assert imported.exit_code == 0, imported.output
    _ok(
        _doithoai(
            url,
            "dialogue",
            "create",
            "--title",
            "Đối thoại chính sách giảm nghèo 2027",
            "--start",
            "2027-04-26 08:00",
            "--venue",
            "Hội trường UBND Phường 7",
            "--wards",
            "Phường 7,Phường 8",
            "--total",
            "20",
            "--priority",
            "15",
        )
    )
    _ok(_doithoai(url, "dialogue", "select", "1", "--seed", "7"))
    return url


def _codes_in(path) -> set[str]:
    """The household codes (P7-012, LD-004) printed in a DOCX of letters."""
    document = Document(str(path))
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    return set(re.findall(r"\b[A-Z][A-Z0-9]-\d{3}\b", text))


def test_a_second_invite_prints_only_the_letters_not_printed_before(tmp_path, sqlite_url):
    url = _prepare(sqlite_url)
    first = tmp_path / "lan-1.docx"
    out = _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(first)))
    assert "20 giấy mời in" in out
    lettered = [c for c, i in asyncio.run(_invitations(url)).items() if i.status == "letter"]
    assert len(_codes_in(first)) == 20 and _codes_in(first) == set(lettered)

    second = tmp_path / "lan-2.docx"
    again = _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(second)))
    assert "0 giấy mời in" in again and not second.exists()

    # A household declines (by the ward's phone, say): the next of its group takes the seat
    # and only its letter is printed.
    replacement = asyncio.run(_decline_and_promote(url, lettered[0]))
    third = tmp_path / "lan-3.docx"
    out = _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(third)))
    assert "1 giấy mời in" in out
    assert _codes_in(third) == {replacement}


def test_moving_names_the_households_holding_a_letter_and_changed_prints_only_theirs(
    tmp_path, sqlite_url
):
    url = _prepare(sqlite_url)
    _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(tmp_path / "a.docx")))
    invitations = asyncio.run(_invitations(url))
    lettered = sorted(c for c, i in invitations.items() if i.status == "letter")
    # One household's letter was never printed (selected after the letters went out): the
    # move concerns only the 19 holding a printed letter.
    late = asyncio.run(_decline_and_promote(url, lettered[0]))

    nothing = _ok(_doithoai(url, "dialogue", "undelivered", "1"))
    assert "đã đến các hộ" in nothing

    moved = _ok(_doithoai(url, "dialogue", "move", "1", "--start", "2027-04-28 14:00"))
    assert "14:00, Thứ Tư, 28/04/2027" in moved
    assert "Các hộ đang giữ giấy mời ghi giờ cũ" in moved
    assert "19 hộ được mời bằng giấy mời in và không nhắn tin với chúng tôi" in moved
    assert "--letters TỆP.docx --changed" in moved
    for code in lettered[1:]:
        assert code in moved
    assert lettered[0] not in moved and late not in moved

    listed = _ok(_doithoai(url, "dialogue", "undelivered", "1"))
    assert "giấy mời in ghi giờ cũ, không có tin nhắn" in listed
    assert "19 hộ cần được báo bằng cách khác" in listed
    assert all(code in listed for code in lettered[1:])

    changed = tmp_path / "doi-lich.docx"
    out = _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(changed), "--changed"))
    assert "19 giấy mời in" in out
    assert _codes_in(changed) == set(lettered[1:])
    assert "14:00, Thứ Tư, 28/04/2027" in "\n".join(
        p.text for p in Document(str(changed)).paragraphs
    )
    after = _ok(_doithoai(url, "dialogue", "undelivered", "1"))
    assert "đã đến các hộ" in after
    # The letter never printed is printed by a plain invite, with the new time.
    new = tmp_path / "moi.docx"
    out = _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(new)))
    assert "1 giấy mời in" in out and _codes_in(new) == {late}


def test_cancelling_names_the_households_holding_a_letter_and_undelivered_keeps_them(
    tmp_path, sqlite_url
):
    url = _prepare(sqlite_url)
    _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(tmp_path / "a.docx")))
    cancelled = _ok(_doithoai(url, "dialogue", "cancel", "1"))
    assert "Đã huỷ buổi đối thoại" in cancelled
    assert "20 hộ được mời bằng giấy mời in" in cancelled
    listed = _ok(_doithoai(url, "dialogue", "undelivered", "1"))
    assert "20 hộ cần được báo bằng cách khác" in listed
    assert "Buổi đối thoại đã bị huỷ" in listed and "giấy mời in ghi giờ cũ" in listed


def test_attendance_counts_the_invitations_that_stand_not_decliners_and_their_replacements(
    tmp_path, sqlite_url
):
    url = _prepare(sqlite_url)
    _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(tmp_path / "a.docx")))
    lettered = [c for c, i in asyncio.run(_invitations(url)).items() if i.status == "letter"]
    # Four decline; four from the waitlist take their seats and are invited.
    for code in lettered[:4]:
        asyncio.run(_decline_and_promote(url, code))
    _ok(_doithoai(url, "dialogue", "invite", "1", "--letters", str(tmp_path / "b.docx")))
    standing = [c for c, i in asyncio.run(_invitations(url)).items() if i.status == "letter"]
    assert len(standing) == 20
    sheet = tmp_path / "diem-danh.csv"
    sheet.write_text("Mã hộ\n" + "\n".join(standing[:4]) + "\n", encoding="utf-8")
    came = _ok(_doithoai(url, "dialogue", "attendance", "1", str(sheet)))
    assert "4 trên 20 hộ được mời đã đến dự" in came
    # A household that declined and came all the same is counted among those asked.
    sheet.write_text("Mã hộ\n" + "\n".join([*standing[:4], lettered[0]]) + "\n", encoding="utf-8")
    came = _ok(_doithoai(url, "dialogue", "attendance", "1", str(sheet)))
    assert "5 trên 21 hộ được mời đã đến dự" in came
