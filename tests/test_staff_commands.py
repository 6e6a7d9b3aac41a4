"""`doithoai staff` and `doithoai agency` in a terminal: codes printed once with their link,
options checked with one line and exit code 2, the list's statuses, agencies configured."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli.staff import agency_app, staff_app
from storage import staff as store
from storage.db import create_engine, session_factory
from storage.models import Agency, Staff

CODE = re.compile(r"\b(s[a-z0-9]{19})\b")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


@pytest.fixture
def run(monkeypatch, database_url):
    """Run a command of `app` on the test database at a time the test sets (run.now)."""

    def invoke(app, *args: str):
        monkeypatch.setattr("bot.core.clock.utcnow", lambda: invoke.now)
        env = {
            "DOITHOAI_DATABASE_URL": database_url,
            "DOITHOAI_TELEGRAM_BOT_USERNAME": "@doithoai_phuong7_bot",
            "COLUMNS": "200",
        }
        return CliRunner().invoke(app, list(args), env=env)

    invoke.now = NOW
    invoke.url = database_url
    return invoke


def _query(url, work):
    async def main():
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _staff(url) -> list[Staff]:
    return _query(url, lambda s: _all(s, select(Staff).order_by(Staff.id)))


async def _all(session, query):
    return list(await session.scalars(query))


def test_an_invitation_prints_the_code_its_link_and_its_expiry_in_local_time(run):
    result = run(staff_app, "invite", "--role", "official", "--agency", "ldtbxh", "--name", "Hoa")

    assert result.exit_code == 0, result.output
    code = CODE.search(result.stdout).group(1)
    lines = result.stdout.splitlines()
    assert lines[0] == (f"Mã của Hoa (cán bộ, Phòng Lao động – Thương binh và Xã hội): {code}")
    assert lines[1] == f"Liên kết: https://t.me/doithoai_phuong7_bot?start={code}"
    assert "hết hạn lúc 09:00, Thứ Sáu, 27/11/2026" in lines[2]
    [member] = _staff(run.url)
    assert (member.role, member.agency, member.ward) == ("official", "ldtbxh", None)
    assert member.code_hash == store.hash_code(code) and code not in member.code_hash
    assert store.is_staff_code(code)


def test_a_facilitators_code_lasts_the_days_asked_for(run):
    result = run(
        staff_app, "invite", "--role", "facilitator", "--ward", "Phường 7", "--name", "Mai",
        "--days", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(thúc đẩy viên, Phường 7)" in result.stdout
    assert "hết hạn lúc 09:00, Chủ Nhật, 22/11/2026" in result.stdout
    [member] = _staff(run.url)
    assert member.code_expires_at == NOW + timedelta(days=2)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--role", "official", "--agency", "xyz", "--name", "A"],
            "Không có cơ quan xyz đang hoạt động. Các cơ quan: bhxh, gddt, kinhte, ldtbxh, "
            "nhcsxh, ubnd, yte.",
        ),
        (
            ["--role", "official", "--name", "A"],
            "Cán bộ cần có --agency, là một trong các mã: bhxh, gddt, kinhte, ldtbxh, nhcsxh, "
            "ubnd, yte.",
        ),
        (["--role", "facilitator", "--name", "A"], "Thúc đẩy viên cần có --ward"),
        (["--role", "boss", "--name", "A"], "Không có vai trò boss"),
        (["--role", "facilitator", "--ward", "P7", "--name", "A", "--days", "400"], "--days"),
    ],
)
def test_a_wrong_invitation_says_what_is_wrong_in_one_line_and_stores_nothing(run, args, says):
    result = run(staff_app, "invite", *args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith(says), result.output
    assert "Traceback" not in result.output
    assert _staff(run.url) == []


def test_the_list_shows_codes_waiting_active_expired_and_revoked(run):
    for name in ("Hoa", "Bình", "Cúc", "Dung"):
        result = run(staff_app, "invite", "--role", "official", "--agency", "yte", "--name", name)
        assert result.exit_code == 0, result.output
        if name == "Bình":
            code = CODE.search(result.stdout).group(1)
            claimed = _query(
                run.url,
                lambda s, code=code: store.claim(
                    s, code=code, channel="telegram", user_id="42", now=NOW + timedelta(days=1)
                ),
            )
            assert claimed is not None
    # Ids are the database's: PostgreSQL's sequence goes on from earlier tests.
    dung = _staff(run.url)[-1]
    assert run(staff_app, "revoke", str(dung.id)).exit_code == 0
    run.now = NOW + timedelta(days=8)
    assert run(staff_app, "invite", "--role", "facilitator", "--ward", "Phường 7", "--name",
               "Mai").exit_code == 0  # fmt: skip

    result = run(staff_app, "list")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[3].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "mã đã hết hạn" in rows["Hoa"] and "–" in rows["Hoa"]
    assert "đang hoạt động" in rows["Bình"] and "21/11/2026" in rows["Bình"]
    assert "mã đã hết hạn" in rows["Cúc"]
    assert "đã thu hồi" in rows["Dung"]
    assert "chờ nhận mã" in rows["Mai"] and "Phường 7" in rows["Mai"]
    assert "Phòng Y tế" in rows["Hoa"] and "cán bộ" in rows["Hoa"]


def test_revoking_ends_a_role_and_an_unknown_id_is_said_so(run):
    run(staff_app, "invite", "--role", "facilitator", "--ward", "Phường 7", "--name", "Mai")
    [mai] = _staff(run.url)
    result = run(staff_app, "revoke", str(mai.id))
    assert result.exit_code == 0
    assert f"Đã thu hồi vai trò của Mai (số {mai.id})." in result.stdout
    [member] = _staff(run.url)
    assert member.revoked_at == NOW
    result = run(staff_app, "revoke", str(mai.id + 1000))
    assert result.exit_code == 1
    assert result.output == f"Không có cán bộ số {mai.id + 1000}.\n"


def test_agencies_are_added_renamed_and_disabled_and_a_disabled_one_is_not_offered(run):
    added = run(agency_app, "add", "tnmt", "Phòng Tài nguyên và Môi trường")
    assert added.exit_code == 0 and "Đã thêm cơ quan tnmt" in added.stdout
    assert run(agency_app, "add", "tnmt", "Lại").exit_code == 1
    bad = run(agency_app, "add", "Phòng TN", "x")
    assert bad.exit_code == 2 and "không hợp lệ" in bad.output
    renamed = run(agency_app, "rename", "tnmt", "Phòng TN&MT")
    assert renamed.exit_code == 0 and "Phòng TN&MT" in renamed.stdout
    assert run(agency_app, "rename", "khong", "X").exit_code == 1
    disabled = run(agency_app, "disable", "kinhte")
    assert disabled.exit_code == 0 and "Đã ngừng sử dụng cơ quan kinhte" in disabled.stdout

    listed = run(agency_app, "list").stdout
    rows = {line.split("│")[1].strip(): line for line in listed.splitlines() if "│" in line}
    assert "Phòng TN&MT" in rows["tnmt"] and "đang hoạt động" in rows["tnmt"]
    assert "Phòng Kinh tế" in rows["kinhte"] and "ngừng sử dụng" in rows["kinhte"]

    refused = run(staff_app, "invite", "--role", "official", "--agency", "kinhte", "--name", "A")
    assert refused.exit_code == 2 and "kinhte" not in refused.output.split("Các cơ quan:")[1]
    assert "tnmt" in refused.output
    offered = _query(run.url, lambda s: store.list_agencies(s))
    assert "kinhte" not in [a.code for a in offered]
    assert run(agency_app, "enable", "kinhte").exit_code == 0
    agency = _query(run.url, lambda s: s.get(Agency, "kinhte"))
    assert agency.active
