"""What people typed never becomes a formula in a spreadsheet the ward opens, and `--out`
never writes over anything but a regular file (issue 12, items 3 and 7)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import secrets
import stat
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.documents.cells import FORMULA_STARTS, csv_cell
from storage.db import create_engine, session_factory
from storage.models import (
    Account,
    Answer,
    Commitment,
    Dialogue,
    Household,
    Invitation,
    OutboxMessage,
    Question,
)

# What an attacker types in a question, a name, an answer or a registry cell.
HOSTILE = [
    '=HYPERLINK("http://evil.example/x","Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def doithoai(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env.update(
        {
            "DOITHOAI_SECRET_KEY": "s" * 40,
            "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_phuong7_bot",
            "DOITHOAI_DATABASE_URL": database_url,
            "DOITHOAI_DEFAULT_LOCALE": "en",
            "COLUMNS": "250",
        }
    )
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _build(url: str) -> int:
    """A dialogue whose every typed field holds a formula: questions, a named asker, answers,
    commitments, and a household of the registry that the invitation did not reach."""
    engine = create_engine(url)
    now = datetime(2026, 4, 26, 3, 0, tzinfo=UTC)
    async with session_factory(engine)() as session, session.begin():
        dialogue = Dialogue(kind="session", title=HOSTILE[0], starts_at=now, wards=["P7"])
        asker = Account(
            channel="telegram",
            user_id="5550001",
            display_name=HOSTILE[3],
            locale="vi",
            asker_salt=secrets.token_bytes(32),
            consented_on=date(2026, 4, 1),
        )
        session.add_all([dialogue, asker])
        await session.flush()
        for number, text in enumerate(HOSTILE):
            question = Question(
                id=secrets.token_hex(16),
                ticket=f"T{number}K",
                dialogue_id=dialogue.id,
                topic="khac",
                agency="ubnd",
                text=text,
                anonymous=False,
                account_id=asker.id,
                status="committed",
                submitted_on=date(2026, 4, 10),
            )
            session.add(question)
            await session.flush()
            session.add(Answer(question_id=question.id, agency="ubnd", text=text, published_at=now))
            session.add(
                Commitment(
                    dialogue_id=dialogue.id,
                    question_id=question.id,
                    agency="ubnd",
                    content=text,
                    due_on=date(2026, 5, 1),
                    responsible=text,
                    progress=text,
                    made_at=now,
                    updated_at=now,
                )
            )
        for number, text in enumerate(HOSTILE):
            household = Household(
                code=text[:30] if number else "0123",
                head_name=text,
                category="poor",
                ward="P7",
                hamlet=text,
                link_code=secrets.token_hex(4).upper(),
            )
            session.add(household)
            await session.flush()
            session.add(
                Invitation(
                    dialogue_id=dialogue.id,
                    household_id=household.id,
                    group="priority",
                    rank=number,
                    status="invited",
                    channel="telegram",
                )
            )
            session.add(
                OutboxMessage(
                    key=f"invite:{dialogue.id}:{household.id}:telegram",
                    channel="telegram",
                    recipient="",
                    status="unreachable",
                    not_before=now,
                    created_at=now,
                )
            )
        dialogue_id = dialogue.id
    await engine.dispose()
    return dialogue_id


def test_a_csv_cell_that_a_spreadsheet_would_run_starts_with_an_apostrophe():
    for text in HOSTILE:
        assert csv_cell(text) == "'" + text
    assert all(csv_cell(c + "x").startswith("'") for c in FORMULA_STARTS)
    for harmless in ("Nguyễn Văn A", "0912345678", "1+1", "", "a=b"):
        assert csv_cell(harmless) == harmless
    assert csv_cell(12) == 12


def test_the_questions_export_keeps_every_typed_formula_as_text(database_url, tmp_path):
    dialogue_id = asyncio.run(_build(database_url))
    out = tmp_path / "cau-hoi.xlsx"
    result = doithoai(
        database_url, tmp_path, "export", "questions", str(dialogue_id), "--out", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr

    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), name  # no formula anywhere
    workbook = load_workbook(out)
    seen = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.lstrip("\t\r")[:1] in "=+-@":
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    seen.add(cell.value)
    # The questions, the asker's name, the answers and the commitments' fields are all there.
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3]} <= seen


def test_the_undelivered_list_prefixes_typed_formulas_with_an_apostrophe(database_url, tmp_path):
    dialogue_id = asyncio.run(_build(database_url))
    out = tmp_path / "chua-nhan.csv"
    result = doithoai(
        database_url, tmp_path, "dialogue", "undelivered", str(dialogue_id), "--out", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))[1:]
    assert len(rows) == len(HOSTILE)
    for row in rows:
        code, name, hamlet = row[:3]
        assert code == '="0123"' or code.startswith("'")
        assert name in ["'" + text for text in HOSTILE]
        assert hamlet == name


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize(
    "command",
    [("export", "questions"), ("export", "minutes"), ("dialogue", "undelivered")],
    ids=["questions", "minutes", "undelivered"],
)
def test_out_refuses_to_replace_a_device_with_one_line(sqlite_url, tmp_path, command):
    dialogue_id = asyncio.run(_build(sqlite_url))
    before = os.stat("/dev/full")
    result = doithoai(sqlite_url, tmp_path, *command, str(dialogue_id), "--out", "/dev/full")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "/dev/full" in line and "not a regular file" in line
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_out_refuses_a_directory_or_a_link_and_writes_over_a_regular_file(sqlite_url, tmp_path):
    dialogue_id = asyncio.run(_build(sqlite_url))
    target = tmp_path / "real.xlsx"
    target.write_bytes(b"old")
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    for refused in (link, folder):
        result = doithoai(
            sqlite_url, tmp_path, "export", "questions", str(dialogue_id), "--out", str(refused)
        )
        assert result.returncode == 2 and "not a regular file" in result.stderr
    assert link.is_symlink() and folder.is_dir() and target.read_bytes() == b"old"
    result = doithoai(
        sqlite_url, tmp_path, "export", "questions", str(dialogue_id), "--out", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_invitation_letters_to_a_device_are_refused_and_nobody_is_invited(tmp_path):
    registry = Path(__file__).parents[1] / "fixtures" / "households" / "phuong7.csv"
    url = f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = doithoai(url, tmp_path, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run("db", "upgrade")
    run("households", "import", str(registry))
    run(
        "dialogue", "create", "--title", "Đối thoại 2027", "--start", "2027-04-26 08:00",
        "--venue", "Hội trường", "--wards", "Phường 7", "--topics", "giamngheo",
        "--total", "4", "--priority", "2",
    )  # fmt: skip
    run("dialogue", "select", "1", "--seed", "7")

    refused = doithoai(url, tmp_path, "dialogue", "invite", "1", "--letters", "/dev/full")

    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "/dev/full" in line and "not a regular file" in line
    invited = run("dialogue", "invite", "1", "--letters", str(tmp_path / "letters.docx"))
    assert "4 printed letters" in invited.stdout  # nobody was invited by the refused try
