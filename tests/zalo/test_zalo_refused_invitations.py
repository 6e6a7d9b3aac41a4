"""Invitations Zalo refuses outside its window (-230) are not "no answer": `dialogue invite`
shows them among the failed as it sends, and `dialogue status` counts the household as not
delivered. The real commands, against the Zalo and Telegram fakes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from storage import invitations as inv
from storage.accounts import create_account
from storage.db import create_engine, session_factory
from storage.dialogues import create_dialogue
from storage.households import HouseholdRow, upsert_households
from storage.links import link
from storage.models import Household
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.zalo_api import FakeZaloAPI

CLOSED, OPEN = "8409000000000000071", "8409000000000000072"


async def _seed(url: str) -> int:
    """Two households on Zalo, both selected for a dialogue next month."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        await upsert_households(
            session,
            rows=[
                HouseholdRow(
                    code="P7-101",
                    head_name="Thạch Thị Sa Ly",
                    gender="female",
                    ethnicity="Khmer",
                    category="poor",
                    ward="Phường 7",
                    hamlet="Khóm 3",
                ),
                HouseholdRow(
                    code="P7-102",
                    head_name="Nguyễn Văn Hai",
                    gender="male",
                    ethnicity="Kinh",
                    category="other",
                    ward="Phường 7",
                    hamlet="Khóm 3",
                ),
            ],
        )
        chosen = []
        for code, user_id, group in (("P7-101", CLOSED, "priority"), ("P7-102", OPEN, "other")):
            household = await session.scalar(select(Household).where(Household.code == code))
            await create_account(
                session,
                channel="zalo",
                user_id=user_id,
                display_name="",
                locale="vi",
                consented_on=date.today(),
            )
            assert (
                await link(session, household=household, channel="zalo", user_id=user_id, now=now)
                == "linked"
            )
            chosen.append((household.id, group, 0))
        d = await create_dialogue(
            session,
            title="Đối thoại chính sách giảm nghèo",
            starts_at=now + timedelta(days=30),
            venue="Hội trường UBND Phường 7",
            question_deadline=now + timedelta(days=29),
            topics=[],
            wards=["Phường 7"],
            quota_total=2,
            quota_priority=1,
        )
        await inv.save_selection(session, dialogue_id=d.id, chosen=chosen, waiting=[])
        dialogue_id = d.id
    await engine.dispose()
    return dialogue_id


def _doithoai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _row(out: str, group: str) -> list[str]:
    """The cells of the table's line that starts with `group` (rich draws ┃ in the header)."""
    lines = [line.replace("┃", "│").strip().strip("│") for line in out.splitlines()]
    [line] = [line for line in lines if line.strip().startswith(group)]
    return [cell.strip() for cell in line.split("│")]


async def test_invitations_zalo_refuses_show_as_failed_and_not_delivered(database_url):
    zalo = FakeZaloAPI().start()
    telegram = FakeBotAPI().start()
    try:
        zalo.follow_user(OPEN)
        zalo.follow_user(CLOSED)
        zalo.set_last_interaction(CLOSED, datetime.now(UTC) - timedelta(days=8))
        dialogue_id = await _seed(database_url)
        env = {
            "DOITHOAI_DATABASE_URL": database_url,
            "DOITHOAI_SECRET_KEY": "s" * 40,
            "DOITHOAI_TELEGRAM_TOKEN": telegram.token,
            "DOITHOAI_TELEGRAM_API_URL": telegram.url,
            "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_test_bot",
            "DOITHOAI_ZALO_CHAT_INTERVAL": "0.05",
            "COLUMNS": "250",
            **{f"DOITHOAI_{k.upper()}": v for k, v in zalo.settings().items()},
        }
        invited = await asyncio.to_thread(_doithoai, env, "dialogue", "invite", str(dialogue_id))
        assert invited.returncode == 0, invited.stdout + invited.stderr
        assert "2 giấy mời được xếp gửi qua tin nhắn" in invited.stdout
        assert "1 đã gửi · 0 đang chờ · 1 thất bại" in invited.stdout
        assert len(zalo.messages_to(OPEN)) == 1 and zalo.messages_to(CLOSED) == []

        status = await asyncio.to_thread(_doithoai, env, "dialogue", "status", str(dialogue_id))
        assert status.returncode == 0, status.stdout + status.stderr
        header = _row(status.stdout, "Nhóm")
        priority = dict(zip(header, _row(status.stdout, "Hộ nghèo"), strict=True))
        others = dict(zip(header, _row(status.stdout, "Hộ khác"), strict=True))
        assert (priority["Chưa trả lời"], priority["Chưa nhận được"]) == ("0", "1")
        assert (others["Chưa trả lời"], others["Chưa nhận được"]) == ("1", "0")
        assert "Tin nhắn: 1 đã gửi, 0 đang chờ, 1 lỗi" in status.stdout
    finally:
        telegram.stop()
        zalo.stop()
    assert zalo.violations == []
