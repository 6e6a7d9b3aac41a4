"""Staff roles end to end: a code printed by `doithoai staff invite`, sent with /start through
the Bot API fake, gives its role once; used, expired, revoked and wrong codes are refused; the
menus and the help show each role its own entries."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli.staff import staff_app
from storage.models import Staff

CODE = re.compile(r"\b(s[a-z0-9]{19})\b")
BOT = "doithoai_test_bot"  # the fake's username


@pytest.fixture
def cli(monkeypatch, clock, database_url):
    """`doithoai staff ARGS` on the service's database and clock, run beside the bot."""
    monkeypatch.setattr("bot.core.clock.utcnow", clock)

    async def run(*args: str):
        env = {"DOITHOAI_DATABASE_URL": database_url, "DOITHOAI_TELEGRAM_BOT_USERNAME": BOT}
        result = await asyncio.to_thread(CliRunner().invoke, staff_app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    return run


async def _invite(cli, *args: str) -> str:
    printed = await cli("invite", *args)
    code = CODE.search(printed).group(1)
    assert f"https://t.me/{BOT}?start={code}" in printed
    return code


async def _staff(telegram) -> list[Staff]:
    async with telegram.runtime.sessions() as session:
        return list(await session.scalars(select(Staff).order_by(Staff.id)))


async def test_a_facilitators_code_from_the_cli_gives_the_role_after_consent_and_only_once(
    telegram, cli, caplog
):
    code = await _invite(cli, "--role", "facilitator", "--ward", "Phường 7", "--name", "Chị Mai")
    mai = telegram.chat(801, "Mai")
    [consent] = await mai.say(f"/start {code}")
    assert "✅ Tôi đồng ý" in consent.button_texts
    assert code in consent.data_for("Tôi đồng ý")  # carried until consent, nothing stored yet
    assert await _staff(telegram) and (await _staff(telegram))[0].claimed_at is None

    with caplog.at_level(logging.INFO):
        [welcome] = await mai.press("Tôi đồng ý")
    assert welcome.text.startswith("Chào mừng Chị Mai")
    assert "Bạn đã là thúc đẩy viên của Phường 7." in welcome.text
    assert "/duyet" in welcome.text and "/baocao" in welcome.text
    assert welcome.button_texts[:3] == ["📋 Duyệt câu hỏi", "🏛 Buổi đối thoại", "📊 Báo cáo"]
    [member] = await _staff(telegram)
    assert (member.role, member.ward, member.user_id) == ("facilitator", "Phường 7", "801")
    claimed = [r.getMessage() for r in caplog.records if "claimed" in r.getMessage()]
    assert claimed == [f"staff {member.id} claimed their role"]

    [again] = await mai.say(f"/start {code}")
    assert "đã có vai trò này rồi" in again.text

    other = await telegram.consenting(802, "Tèo")
    [refused] = await other.say(f"/start {code}")
    assert refused.text.startswith("Mã cán bộ này đã được dùng rồi")
    [member] = await _staff(telegram)
    assert member.user_id == "801"


async def test_an_officials_code_given_to_a_consenting_chat_names_the_agency_and_the_inbox(
    telegram, cli
):
    hoa = await telegram.consenting(803, "Hoa")
    code = await _invite(cli, "--role", "official", "--agency", "ldtbxh", "--name", "Chị Hoa")
    [welcome] = await hoa.say(f"/start {code}")
    assert "Bạn đã là cán bộ của Phòng Lao động – Thương binh và Xã hội." in welcome.text
    assert "/hopthu" in welcome.text and "/duyet" not in welcome.text
    assert welcome.button_texts[0] == "📥 Hộp thư"
    assert "📋 Duyệt câu hỏi" not in welcome.button_texts


async def test_an_expired_code_is_refused(telegram, cli, clock):
    code = await _invite(cli, "--role", "facilitator", "--ward", "Phường 7", "--name", "Chị Mai")
    clock.advance(days=8)
    chat = await telegram.consenting(804)
    [refused] = await chat.say(f"/start {code}")
    assert refused.text.startswith("Mã cán bộ này đã hết hạn")
    [member] = await _staff(telegram)
    assert member.claimed_at is None


async def test_a_code_that_expires_in_three_days_still_works_on_the_second(telegram, cli, clock):
    code = await _invite(
        cli, "--role", "facilitator", "--ward", "Phường 7", "--name", "Chị Mai", "--days", "3"
    )
    clock.advance(days=2)
    chat = await telegram.consenting(805)
    [welcome] = await chat.say(f"/start {code}")
    assert "Bạn đã là thúc đẩy viên của Phường 7." in welcome.text


async def test_a_revoked_code_is_refused_before_and_after_consent(telegram, cli):
    code = await _invite(cli, "--role", "official", "--agency", "yte", "--name", "Anh Bình")
    [member] = await _staff(telegram)
    assert "đã thu hồi" in (await cli("revoke", str(member.id))).lower()
    stranger = telegram.chat(806)
    [refused] = await stranger.say(f"/start {code}")
    assert refused.text.startswith("Mã cán bộ này đã bị thu hồi")
    assert "✅ Tôi đồng ý" in refused.button_texts  # the consent, without the code
    assert all(code not in data for row in refused.buttons for _, data in row)
    chat = await telegram.consenting(807)
    [refused] = await chat.say(f"/start {code}")
    assert refused.text.startswith("Mã cán bộ này đã bị thu hồi")


async def test_wrong_staff_codes_count_toward_the_same_throttle_as_household_codes(telegram):
    chat = await telegram.consenting(808)
    for attempt in range(3):
        [wrong] = await chat.say(f"/start WRONG{attempt}")
        assert "không đúng hoặc đã hết hạn" in wrong.text
    for attempt in range(2):
        [wrong] = await chat.say(f"/start s{attempt}" + "k" * 18)
        assert wrong.text.startswith("Mã cán bộ này không đúng")
    assert "Mã đã bị nhập sai quá nhiều lần" in wrong.text
    [blocked] = await chat.say("/start s" + "m" * 19)
    assert blocked.text.startswith("Mã đã bị nhập sai quá nhiều lần")


async def test_the_help_and_the_menu_show_each_role_its_own_entries(telegram):
    lan = await telegram.consenting(811, "Lan")
    [help_] = await lan.say("/trogiup")
    assert "/xemcauhoi" in help_.text and "/duyet" not in help_.text
    assert "🙋 Câu hỏi của bà con" in help_.button_texts
    assert help_.data_for("Câu hỏi của bà con") == "u:b"

    mai = await telegram.staff(812, role="facilitator", ward="Phường 7", name="Chị Mai")
    [help_] = await mai.say("/trogiup")
    assert help_.text.startswith("Trợ giúp\n\nThúc đẩy viên của Phường 7:\n/duyet")
    assert [help_.data_for(label) for label in ("Duyệt câu hỏi", "Buổi đối thoại", "Báo cáo")] == [
        "s:q",
        "g:r",
        "d:n",
    ]
    [menu] = await mai.say("/start")
    assert menu.button_texts[:3] == ["📋 Duyệt câu hỏi", "🏛 Buổi đối thoại", "📊 Báo cáo"]
    assert "🙋 Câu hỏi của bà con" in menu.button_texts

    hoa = await telegram.staff(813, role="official", agency="ldtbxh", name="Chị Hoa")
    [help_] = await hoa.say("/trogiup")
    assert "Cán bộ của Phòng Lao động – Thương binh và Xã hội:\n/hopthu" in help_.text
    assert help_.data_for("Hộp thư") == "o:i" and "📋 Duyệt câu hỏi" not in help_.button_texts
