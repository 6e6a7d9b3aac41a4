"""A newcomer's and an operator's first hour, the real `doithoai` command run as they would:
the demo in English, one line for every failure (never a token), names checked against the
registry, the first dialogue numbered 1, piped output kept whole, `doithoai doctor`, and a
command line that starts without the heavy libraries."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.db import upgrade
from tests.fakes.telegram_api import FakeBotAPI
from tests.support.cli import in_process

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "tests" / "fixtures" / "households" / "phuong7.csv"
TOKEN = "654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s" * 40


def doithoai(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it: output piped, no terminal, no COLUMNS."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_") and k != "COLUMNS"
    }
    clean.update({"DOITHOAI_SECRET_KEY": SECRET, **env})
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def migrate(folder: Path) -> None:
    """The database of `doithoai` run in `folder` (its default URL), migrated in this process."""
    upgrade(f"sqlite+aiosqlite:///{folder / 'doithoai.db'}")


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def fake_telegram():
    fake = FakeBotAPI(token=TOKEN, bot_username="phuong7_bot").start()
    yield fake
    fake.stop()


def test_the_demo_plays_in_english_to_the_answer_and_the_thanks(tmp_path):
    result = doithoai(tmp_path, "demo", "--locale", "en")

    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": [1] ✅ I agree") == 3  # Lan, then Mai and Hoa, accept
    assert "== Your question has an answer ==" in result.stdout
    assert "Phường sẽ rà soát lại hộ này" in result.stdout
    assert "We are glad the answer helps." in result.stdout


def test_db_check_upgrade_and_check_again_each_say_what_they_did_in_one_line(tmp_path):
    before = doithoai(tmp_path, "db", "check")
    assert before.returncode == 2
    assert one_line(before) == (
        f"Cơ sở dữ liệu {tmp_path / 'doithoai.db'} chưa có lược đồ: hãy chạy `doithoai db upgrade`."
    )

    old = doithoai(tmp_path, "db", "upgrade", "0005")
    assert old.returncode == 0, old.stderr
    assert old.stdout.strip() == f"Đã tạo lược đồ của {tmp_path / 'doithoai.db'} (phiên bản 0005)."
    behind = doithoai(tmp_path, "db", "check")
    assert behind.returncode == 2 and "doithoai db upgrade" in one_line(behind)

    newest = doithoai(tmp_path, "db", "upgrade")
    assert newest.stdout.strip().startswith(
        f"Đã nâng lược đồ của {tmp_path / 'doithoai.db'} từ 0005 lên "
    )
    again = doithoai(tmp_path, "db", "upgrade")
    assert "không có gì phải làm" in again.stdout
    checked = doithoai(tmp_path, "db", "check")
    assert checked.returncode == 0, checked.stderr
    assert "khớp với mã nguồn" in checked.stdout and checked.stdout.count("\n") == 1


def test_a_database_out_of_reach_is_one_line_naming_it_without_its_password(tmp_path):
    url = "postgresql://doithoai:hunter2-secret@127.0.0.1:9/doithoai"
    result = doithoai(tmp_path, "dialogue", "list", DOITHOAI_DATABASE_URL=url)

    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(
        "Không kết nối được cơ sở dữ liệu postgresql://doithoai@127.0.0.1:9/doithoai:"
    )
    assert "DOITHOAI_DATABASE_URL" in line and "hunter2" not in result.stderr


def test_a_token_telegram_refuses_is_one_line_that_never_shows_it(tmp_path, fake_telegram):
    migrate(tmp_path)  # what is tested comes after
    wrong = "654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDxxx"
    env = {"DOITHOAI_TELEGRAM_TOKEN": wrong, "DOITHOAI_TELEGRAM_API_URL": fake_telegram.url}

    result = doithoai(tmp_path, "run", **env)
    assert result.returncode == 2
    assert "@BotFather" in one_line(result) and wrong not in result.stderr + result.stdout

    debug = doithoai(tmp_path, "--debug", "run", **env)
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr and "InvalidToken" in debug.stderr
    assert wrong not in debug.stderr and "AAHdq" not in debug.stderr


def test_no_network_is_one_line_saying_to_check_it(tmp_path):
    migrate(tmp_path)  # what is tested comes after
    result = doithoai(
        tmp_path,
        "run",
        DOITHOAI_TELEGRAM_TOKEN=TOKEN,
        DOITHOAI_TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("Không kết nối được Telegram") and TOKEN not in line


def _plan(
    tmp_path: Path,
    *extra: str,
    wards: str = "Phường 7",
    start: str = "2099-04-26 08:00",
    run=doithoai,
):
    return run(
        tmp_path,
        "dialogue",
        "create",
        "--title",
        "Đối thoại chính sách giảm nghèo phường 7 năm 2099, khóm 1, khóm 2, khóm 3 và khóm 4",
        "--start",
        start,
        "--venue",
        "Hội trường",
        "--wards",
        wards,
        "--total",
        "20",
        "--priority",
        "15",
        *extra,
    )


def test_a_misspelt_ward_or_topic_or_a_past_date_is_refused_with_what_was_meant(tmp_path):
    migrate(tmp_path)  # what is tested comes after
    assert in_process(tmp_path, "households", "import", str(REGISTRY)).exit_code == 0

    typo = _plan(tmp_path, wards="Phuong 7", run=in_process)
    assert typo.exit_code == 2
    assert typo.stderr == "--wards: Không có phường, xã “Phuong 7”. Có phải: Phường 7, Phường 8?\n"
    unknown = _plan(tmp_path, wards="Phường 99", run=in_process)
    assert unknown.exit_code == 2 and "Phường 7" in unknown.stderr
    topic = _plan(tmp_path, "--topics", "giamnghoe", run=in_process)
    assert topic.exit_code == 2 and "giamngheo" in topic.stderr
    past = _plan(tmp_path, start="2020-04-26 08:00", run=in_process)
    assert past.exit_code == 2 and "--allow-past" in past.stderr
    staff = in_process(
        tmp_path,
        "staff",
        "invite",
        "--role",
        "facilitator",
        "--ward",
        "Phuong 8",
        "--name",
        "Mai",
        DOITHOAI_TELEGRAM_BOT_USERNAME="phuong7_bot",
    )
    assert staff.exit_code == 2 and "Phường 8" in staff.stderr

    # Nothing was stored by the refused ones: this is number 1.
    created = _plan(tmp_path, run=in_process)
    assert created.exit_code == 0, created.output
    assert "Đã tạo buổi đối thoại số 1:" in created.stdout
    held = _plan(tmp_path, "--allow-past", start="2020-04-26 08:00", run=in_process)
    assert "Đã tạo buổi đối thoại số 2:" in held.stdout
    moved = in_process(tmp_path, "dialogue", "move", "1", "--start", "2020-05-02 08:00")
    assert moved.exit_code == 2 and "--allow-past" in moved.stderr
    # The past one is "past" in the list, and invite says the same.
    listing = doithoai(tmp_path, "dialogue", "list")
    title = "Đối thoại chính sách giảm nghèo phường 7 năm 2099, khóm 1, khóm 2, khóm 3 và khóm 4"
    rows = [line for line in listing.stdout.splitlines() if title in line]
    assert len(rows) == 2  # piped: a long title stays on its line
    assert "đã diễn ra" in rows[1] and "theo kế hoạch" in rows[0]
    late = doithoai(tmp_path, "dialogue", "invite", "2", "--no-send")
    assert late.returncode == 1 and "đã diễn ra" in late.stdout


def test_selecting_from_wards_with_no_household_says_why_and_fails(tmp_path):
    migrate(tmp_path)  # what is tested comes after
    assert _plan(tmp_path, run=in_process).exit_code == 0  # no registry yet: not checked

    result = doithoai(tmp_path, "dialogue", "select", "1")
    assert result.returncode == 1
    assert "Không có hộ nào trong danh sách thuộc Phường 7" in result.stdout
    assert "doithoai households import" in result.stdout


async def _tick(url: str) -> None:
    from bot.clock import Ticker
    from bot.core.clock import utcnow
    from storage.db import create_engine, session_factory

    engine = create_engine(url)
    try:
        await Ticker(
            session_factory(engine),
            clock=utcnow,
            zone=ZoneInfo("Asia/Ho_Chi_Minh"),
            default_locale="vi",
        ).tick()
    finally:
        await engine.dispose()


def test_doctor_checks_each_part_in_one_line_with_the_fix(tmp_path, fake_telegram):
    env = {"DOITHOAI_TELEGRAM_TOKEN": TOKEN, "DOITHOAI_TELEGRAM_API_URL": fake_telegram.url}
    fresh = doithoai(tmp_path, "doctor", **env)
    assert fresh.returncode == 1
    assert "✗ Cơ sở dữ liệu:" in fresh.stdout and "doithoai db upgrade" in fresh.stdout

    url = f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"
    upgrade(url)
    asyncio.run(_tick(url))
    ready = doithoai(tmp_path, "doctor", **env)
    assert ready.returncode == 0, ready.stdout
    lines = ready.stdout.splitlines()
    assert [line[0] for line in lines] == ["✓", "✓", "–", "✓", "✓", "✓", "✓"]
    assert "@phuong7_bot" in ready.stdout and "0 đang chờ, 0 chưa rõ" in ready.stdout
    assert TOKEN not in ready.stdout
    assert [c.method for c in fake_telegram.calls][-2:] == ["getMe", "getWebhookInfo"]

    refused = doithoai(tmp_path, "doctor", **{**env, "DOITHOAI_TELEGRAM_TOKEN": "1:" + "x" * 30})
    assert refused.returncode == 1
    assert "✗ Telegram:" in refused.stdout and "@BotFather" in refused.stdout
    hooked = doithoai(tmp_path, "doctor", DOITHOAI_WEBHOOK_URL="https://example.org", **env)
    assert hooked.returncode == 1
    assert "✗ Webhook:" in hooked.stdout and "doithoai run --webhook" in hooked.stdout


def test_the_command_line_starts_without_the_heavy_libraries():
    code = (
        "import sys, bot.cli; bot.cli._register_subcommands(); "
        "print(' '.join(sorted(m for m in ('matplotlib', 'docx', 'openpyxl', 'telegram', "
        "'uvicorn', 'starlette', 'jinja2', 'sqlalchemy', 'rich', 'pydantic', 'httpx') "
        "if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


async def test_the_board_asks_telegram_for_the_bot_once_shows_zalo_and_sets_cancelled_apart(
    database_url, clock, fake_telegram
):
    import httpx
    import lxml.html

    from bot.board import create_board_app
    from bot.runtime import Runtime
    from tests.conftest import make_settings
    from tests.web.board_support import build_story

    settings = make_settings(
        database_url,
        telegram_token=TOKEN,
        telegram_api_url=fake_telegram.url,  # no DOITHOAI_TELEGRAM_BOT_USERNAME
        zalo_app_id="1234567890",
        zalo_app_secret="app-secret-for-tests",
        zalo_oa_secret_key="oa-secret-key-for-tests",
        zalo_oa_id="3662729599332560487",
    )
    runtime = Runtime(settings, clock=clock)
    try:
        story = await build_story(runtime)
        transport = httpx.ASGITransport(app=create_board_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
            home = await client.get("/")
            again = await client.get("/")
            dialogue = await client.get(f"/doi-thoai/{story.upcoming}")
    finally:
        await runtime.close()

    assert home.status_code == again.status_code == dialogue.status_code == 200
    page = lxml.html.fromstring(home.text)
    [ask] = page.xpath('//section[@id="gui-cau-hoi"]')
    links = ask.xpath(".//a/@href")
    assert links == ["https://t.me/phuong7_bot", "https://zalo.me/3662729599332560487"]
    assert len(ask.xpath('.//figure[@class="qr"]/svg')) == 2
    assert [c.method for c in fake_telegram.calls].count("getMe") == 1  # asked once, kept
    assert "https://zalo.me/3662729599332560487" in dialogue.text
    # A cancelled dialogue is not among the upcoming ones: it has its own list.
    upcoming = page.xpath('//section[@id="sap-toi"]')[0].text_content()
    cancelled = page.xpath('//section[@id="da-huy"]')[0].text_content()
    assert "Đối thoại về đất ở (hoãn)" not in upcoming and "Đối thoại về bảo hiểm y tế" in upcoming
    assert "Đối thoại về đất ở (hoãn)" in cancelled and "Đã huỷ" in cancelled
