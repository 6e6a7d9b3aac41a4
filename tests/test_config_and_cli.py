"""Settings and the command line: bad settings stop with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.config import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _doithoai(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=clean,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_defaults_are_a_local_sqlite_file_vietnamese_and_hanoi_time(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DOITHOAI_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"
    assert settings.timezone == "Asia/Ho_Chi_Minh" and settings.default_locale == "vi"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.secret_key is None and settings.telegram_token is None


def test_usual_database_urls_get_the_async_driver():
    assert (
        load_settings(database_url="postgresql://u@h/db").database_url
        == "postgresql+asyncpg://u@h/db"
    )
    assert load_settings(database_url="sqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("timezone", "Mars/Olympus", "DOITHOAI_TIMEZONE"),
        ("default_locale", "fr", "DOITHOAI_DEFAULT_LOCALE"),
        ("database_url", "mysql://x", "DOITHOAI_DATABASE_URL"),
        ("secret_key", "short", "DOITHOAI_SECRET_KEY"),
        ("telegram_token", "not-a-token", "DOITHOAI_TELEGRAM_TOKEN"),
        ("telegram_api_url", "ftp://x", "DOITHOAI_TELEGRAM_API_URL"),
        ("digest_time", "7h", "DOITHOAI_DIGEST_TIME"),
        ("digest_time", "25:00", "DOITHOAI_DIGEST_TIME"),
        ("answer_days", "0", "DOITHOAI_ANSWER_DAYS"),
        ("staff_code_days", "many", "DOITHOAI_STAFF_CODE_DAYS"),
        ("webhook_url", "example.org/hook", "DOITHOAI_WEBHOOK_URL"),
        ("webhook_secret", "short", "DOITHOAI_WEBHOOK_SECRET"),
        ("webhook_secret", "has spaces in it, sixteen+", "DOITHOAI_WEBHOOK_SECRET"),
        ("zalo_api_url", "openapi.zalo.me", "DOITHOAI_ZALO_API_URL"),
        ("port", "70000", "DOITHOAI_PORT"),
    ],
)
def test_an_invalid_setting_is_reported_in_one_line_naming_it(setting, value, named):
    with pytest.raises(SettingsError) as raised:
        load_settings(**{setting: value})
    assert str(raised.value).startswith(named + ":")
    assert "\n" not in str(raised.value)


def test_run_without_a_token_stops_with_one_line_and_no_traceback(tmp_path):
    result = _doithoai("run", env={"DOITHOAI_SECRET_KEY": "s" * 40}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "Lỗi cấu hình: DOITHOAI_TELEGRAM_TOKEN: required but not set"


def test_a_bad_setting_in_the_environment_stops_any_command(tmp_path):
    result = _doithoai("db", "upgrade", env={"DOITHOAI_TIMEZONE": "Hanoi"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "Lỗi cấu hình: DOITHOAI_TIMEZONE: unknown time zone 'Hanoi'"


def test_run_refuses_a_database_whose_schema_is_behind(tmp_path):
    env = {
        "DOITHOAI_SECRET_KEY": "s" * 40,
        "DOITHOAI_TELEGRAM_TOKEN": "123:abc",
        "DOITHOAI_TELEGRAM_API_URL": "http://127.0.0.1:9",
    }
    result = _doithoai("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "doithoai db upgrade" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_then_console_chats_in_the_terminal(tmp_path):
    env = {"DOITHOAI_SECRET_KEY": "s" * 40}
    upgraded = _doithoai("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "doithoai.db").exists()
    chat = _doithoai(
        "console",
        "--user",
        "an",
        "--name",
        "Lê Văn An",
        env=env,
        cwd=tmp_path,
        stdin="/start\n1\n/hoi\n11\nXin hỏi lịch tiếp công dân tháng này?\n1\n1\n/cauhoi\n",
    )
    assert chat.returncode == 0, chat.stderr
    assert "Đã nhận câu hỏi của ông/bà" in chat.stdout
    assert "1 câu hỏi của ông/bà" in chat.stdout and "🕶 ẩn danh" in chat.stdout


def test_the_demo_goes_from_a_question_to_its_answer_back_to_the_anonymous_asker(tmp_path):
    result = _doithoai("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Đã nhận câu hỏi của ông/bà") == 2
    assert "Câu hỏi có ghi tên ông/bà: Nguyễn Thị Lan." in out
    assert "Câu hỏi của ông/bà là ẩn danh" in out
    assert "2 câu hỏi của ông/bà" in out and "🕶 ẩn danh" in out and "👤 có ghi tên" in out
    # The other half: the facilitator and the official take their roles by code, the official
    # sees an anonymous asker, and the answer comes back to Lan.
    assert "Người hỏi: Người hỏi ẩn danh" in out
    card = out[out.rindex("== Câu hỏi #") :].split("\n\n👤", 1)[0]
    assert "Người hỏi ẩn danh" in card and "Nguyễn Thị Lan" not in card
    answer = out[out.index("→ Nguyễn Thị Lan\n     == Câu hỏi của ông/bà đã có trả lời ==") :]
    assert "Phường sẽ rà soát lại hộ này" in answer and "😊 Hài lòng" in answer
    assert list(tmp_path.iterdir()) == []  # nothing left behind: a temporary database


def test_the_process_rules_come_from_the_settings():
    policy = load_settings(digest_time="06:30", answer_days="20", staff_code_days="3").policy
    assert (policy.digest_time.hour, policy.digest_time.minute) == (6, 30)
    assert (policy.answer_days, policy.staff_code_days) == (20, 3)
    default = load_settings().policy
    assert (default.digest_time.hour, default.answer_days, default.staff_code_days) == (7, 15, 7)


def test_zalo_without_its_secrets_is_refused_naming_the_missing_one():
    with pytest.raises(SettingsError) as raised:
        load_settings(zalo_app_id="1234567890", zalo_app_secret="app-secret")
    assert str(raised.value) == ("DOITHOAI_ZALO_OA_SECRET_KEY: required when ZALO_APP_ID is set")
    settings = load_settings(zalo_app_id="1234567890", zalo_app_secret="a", zalo_oa_secret_key="b")
    assert settings.zalo_enabled and not load_settings().zalo_enabled


def test_an_operator_replaces_spent_zalo_tokens_without_them_showing_on_screen(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'z.db'}"
    env = {
        "DOITHOAI_DATABASE_URL": url,
        "DOITHOAI_SECRET_KEY": "k" * 40,
        "DOITHOAI_ZALO_APP_ID": "2553928453557884079",
        "DOITHOAI_ZALO_APP_SECRET": "app-secret",
        "DOITHOAI_ZALO_OA_SECRET_KEY": "oa-secret",
    }
    assert _doithoai("db", "upgrade", env=env).returncode == 0
    result = _doithoai("zalo", "tokens", env=env, stdin="access-AAA\nrefresh-RRR\n")
    assert result.returncode == 0, result.stderr
    assert "Đã lưu mã Zalo" in result.stdout
    assert "access-AAA" not in result.stdout and "refresh-RRR" not in result.stdout
    with sqlite3.connect(tmp_path / "z.db") as db:
        rows = db.execute("select access_token, refresh_token from channel_tokens").fetchall()
    assert rows == [("access-AAA", "refresh-RRR")]
