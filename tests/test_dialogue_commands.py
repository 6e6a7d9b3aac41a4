"""The organiser's commands end to end in a terminal: import the registry, plan a dialogue,
select by quota, invite (letters for those without a chat), follow, record attendance, move
and cancel."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from docx import Document
from sqlalchemy import func, select

from storage.db import create_engine, session_factory, upgrade
from storage.models import Invitation, OutboxMessage, Reminder
from tests.support.cli import in_process

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "tests" / "fixtures" / "households" / "phuong7.csv"


def _doithoai(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env.update(
        {
            "DOITHOAI_SECRET_KEY": "s" * 40,
            "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_phuong7_bot",
            "COLUMNS": "200",
        }
    )
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def _count(url, model, *where):
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        n = await session.scalar(select(func.count()).select_from(model).where(*where))
    await engine.dispose()
    return n


def test_an_organiser_plans_selects_invites_and_follows_a_dialogue(tmp_path):
    # The first dialogue planned is number 1 (the standing intake for general questions is 0).
    url = f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    imported = _ok(_doithoai(tmp_path, "households", "import", str(REGISTRY)))
    assert "120" in imported
    created = _ok(
        _doithoai(
            tmp_path,
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
            "--topics",
            "giamngheo,tindung,rasoat",
            "--total",
            "20",
            "--priority",
            "15",
        )
    )
    assert "Đã tạo buổi đối thoại số 1" in created and "08:00, Thứ Hai, 26/04/2027" in created
    assert asyncio.run(_count(url, Reminder, Reminder.status == "pending")) == 3

    selected = _ok(_doithoai(tmp_path, "dialogue", "select", "1", "--seed", "7"))
    assert "Đã chọn 20 trên 20 hộ" in selected
    assert "Phường 7" in selected and "Phường 8" in selected
    assert "không đủ" not in selected

    letters = tmp_path / "giay-moi.docx"
    invited = _ok(_doithoai(tmp_path, "dialogue", "invite", "1", "--letters", str(letters)))
    assert "0 giấy mời được xếp gửi qua tin nhắn; 20 giấy mời in" in invited
    document = Document(str(letters))
    text = "\n".join(p.text for p in document.paragraphs)
    assert text.count("GIẤY MỜI") == 20 and "t.me/doithoai_phuong7_bot?start=" in text
    assert asyncio.run(_count(url, Invitation, Invitation.status == "letter")) == 20
    again = _ok(_doithoai(tmp_path, "dialogue", "invite", "1", "--letters", str(letters)))
    assert "0 giấy mời được xếp gửi" in again
    assert asyncio.run(_count(url, OutboxMessage)) == 0

    status = _ok(_doithoai(tmp_path, "dialogue", "status", "1"))
    assert "Hộ nghèo, cận nghèo, mới thoát nghèo" in status and "Giấy mời in" in status

    invited_codes = asyncio.run(_invited_codes(url))
    sheet = tmp_path / "diem-danh.csv"
    sheet.write_text("Mã hộ\n" + "\n".join(invited_codes[:12]) + "\n", encoding="utf-8")
    came = _ok(_doithoai(tmp_path, "dialogue", "attendance", "1", str(sheet)))
    assert "12 trên 20 hộ được mời đã đến dự" in came
    wrong = tmp_path / "sai.csv"
    wrong.write_text("Mã hộ\nP7-999\n", encoding="utf-8")
    refused = _doithoai(tmp_path, "dialogue", "attendance", "1", str(wrong))
    assert refused.returncode == 1 and "Dòng 2: hộ P7-999 không được mời" in refused.stdout

    moved = _ok(_doithoai(tmp_path, "dialogue", "move", "1", "--start", "2027-04-28 14:00"))
    assert "14:00, Thứ Tư, 28/04/2027" in moved
    reminders = asyncio.run(_reminders(url))
    assert (
        sorted(reminders.values()).count("pending") == 3
        and list(reminders.values()).count("cancelled") == 3
    )

    cancelled = _ok(_doithoai(tmp_path, "dialogue", "cancel", "1"))
    assert "Đã huỷ buổi đối thoại" in cancelled
    listing = _ok(_doithoai(tmp_path, "dialogue", "list"))
    assert "đã huỷ" in listing


def test_impossible_quotas_are_said_plainly(tmp_path):
    # The setup in this process: only `select` is tested here.
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}")
    assert in_process(tmp_path, "households", "import", str(REGISTRY)).exit_code == 0
    assert (
        in_process(
            tmp_path,
            "dialogue",
            "create",
            "--title",
            "Quá lớn",
            "--start",
            "2027-04-26 08:00",
            "--venue",
            "Hội trường",
            "--wards",
            "Phường 7",
            "--total",
            "500",
            "--priority",
            "400",
        ).exit_code
        == 0
    )
    out = _ok(_doithoai(tmp_path, "dialogue", "select", "1"))
    assert "Danh sách hộ không đủ đáp ứng chỉ tiêu: chỉ có" in out
    assert "cần 400 hộ" in out and "cần 500 hộ" in out


def test_a_bad_start_time_is_refused_with_a_clear_message(tmp_path):
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}")
    result = _doithoai(
        tmp_path,
        "dialogue",
        "create",
        "--title",
        "X",
        "--start",
        "mai 8 giờ",
        "--venue",
        "Y",
        "--wards",
        "Phường 7",
    )
    assert result.returncode == 2
    assert "mai 8 giờ không phải ngày giờ dạng 2026-12-02 08:00" in result.stderr


async def _invited_codes(url):
    from storage.models import Household

    engine = create_engine(url)
    async with session_factory(engine)() as session:
        codes = list(
            await session.scalars(
                select(Household.code)
                .join(Invitation, Invitation.household_id == Household.id)
                .where(Invitation.status == "letter")
                .order_by(Household.code)
            )
        )
    await engine.dispose()
    return codes


async def _reminders(url):
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        found = {r.key: r.status for r in await session.scalars(select(Reminder))}
    await engine.dispose()
    return found


ON_TELEGRAM, ON_ZALO = 5001, "8409000000000000081"


async def _two_households_on_two_channels(url: str) -> int:
    """Two households selected for a dialogue next month: one linked to a Telegram chat, the
    other to a Zalo chat."""
    from datetime import UTC, date, datetime, timedelta

    from storage import invitations as inv
    from storage.accounts import create_account
    from storage.dialogues import create_dialogue
    from storage.households import HouseholdRow, upsert_households
    from storage.links import link
    from storage.models import Household

    now = datetime.now(UTC)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        rows = [
            HouseholdRow(
                code=code,
                head_name=name,
                gender=gender,
                ethnicity="Kinh",
                category=category,
                ward="Phường 7",
                hamlet="Khóm 3",
            )
            for code, name, gender, category in (
                ("P7-201", "Lê Thị Mai", "female", "poor"),
                ("P7-202", "Trần Văn Bình", "male", "other"),
            )
        ]
        await upsert_households(session, rows=rows)
        chosen = []
        for code, channel, user_id, group in (
            ("P7-201", "telegram", str(ON_TELEGRAM), "priority"),
            ("P7-202", "zalo", ON_ZALO, "other"),
        ):
            household = await session.scalar(select(Household).where(Household.code == code))
            await create_account(
                session,
                channel=channel,
                user_id=user_id,
                display_name="",
                locale="vi",
                consented_on=date.today(),
            )
            linked = await link(
                session, household=household, channel=channel, user_id=user_id, now=now
            )
            assert linked == "linked"
            chosen.append((household.id, group, 0))
        d = await create_dialogue(
            session,
            title="Đối thoại chính sách giảm nghèo",
            starts_at=now + timedelta(days=30),
            venue="Hội trường UBND Phường 7",
            topics=[],
            wards=["Phường 7"],
            quota_total=2,
            quota_priority=1,
        )
        await inv.save_selection(session, dialogue_id=d.id, chosen=chosen, waiting=[])
        dialogue_id = d.id
    await engine.dispose()
    return dialogue_id


def test_invite_sends_on_every_configured_channel_telegram_and_zalo(tmp_path):
    from tests.fakes.telegram_api import FakeBotAPI
    from tests.fakes.zalo_api import FakeZaloAPI

    url = f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"
    upgrade(url)
    dialogue_id = asyncio.run(_two_households_on_two_channels(url))
    telegram, zalo = FakeBotAPI().start(), FakeZaloAPI().start()
    try:
        telegram.add_private_chats([ON_TELEGRAM])
        zalo.follow_user(ON_ZALO)
        env = {
            "DOITHOAI_TELEGRAM_TOKEN": telegram.token,
            "DOITHOAI_TELEGRAM_API_URL": telegram.url,
            "DOITHOAI_ZALO_CHAT_INTERVAL": "0.05",
            **{f"DOITHOAI_{k.upper()}": v for k, v in zalo.settings().items()},
        }
        invited = in_process(tmp_path, "dialogue", "invite", str(dialogue_id), **env)
        assert invited.exit_code == 0, invited.output
        assert "2 giấy mời được xếp gửi qua tin nhắn" in invited.output
        [on_telegram] = telegram.messages_to(ON_TELEGRAM)
        [on_zalo] = zalo.messages_to(ON_ZALO)
    finally:
        telegram.stop()
        zalo.stop()
    assert on_telegram.text.startswith("Giấy mời dự đối thoại chính sách")
    assert "Kính mời Bà Lê Thị Mai" in on_telegram.text
    assert "Kính mời Ông Trần Văn Bình" in on_zalo.text
    assert zalo.violations == []
    assert asyncio.run(_count(url, OutboxMessage, OutboxMessage.status == "sent")) == 2
