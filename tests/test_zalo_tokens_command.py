"""`doithoai zalo tokens`: refused in one line when Zalo is not configured (nothing stored), and
asking for the tokens in the operator's language."""

from __future__ import annotations

import sqlite3

from tests.test_config_and_cli import _doithoai

ZALO = {
    "DOITHOAI_ZALO_APP_ID": "2553928453557884079",
    "DOITHOAI_ZALO_APP_SECRET": "app-secret",
    "DOITHOAI_ZALO_OA_SECRET_KEY": "oa-secret",
}


def _env(tmp_path, **more: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    return {"DOITHOAI_DATABASE_URL": url, "DOITHOAI_SECRET_KEY": "k" * 40, **more}


def _stored(tmp_path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "z.db") as db:
        return db.execute("select access_token, refresh_token from channel_tokens").fetchall()


def test_zalo_tokens_without_zalo_configured_is_refused_in_one_line_and_stores_nothing(tmp_path):
    env = _env(tmp_path)
    assert _doithoai("db", "upgrade", env=env).returncode == 0
    result = _doithoai("zalo", "tokens", env=env, stdin="access-AAA\nrefresh-RRR\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Zalo chưa được cấu hình: hãy đặt DOITHOAI_ZALO_APP_ID, DOITHOAI_ZALO_APP_SECRET và "
        "DOITHOAI_ZALO_OA_SECRET_KEY trước."
    ]
    assert _stored(tmp_path) == []


def test_zalo_tokens_asks_for_them_in_vietnamese_or_english(tmp_path):
    env = _env(tmp_path, **ZALO)
    assert _doithoai("db", "upgrade", env=env).returncode == 0
    vi = _doithoai("zalo", "tokens", env=env, stdin="access-AAA\nrefresh-RRR\n")
    assert vi.returncode == 0, vi.stderr
    shown = vi.stdout + vi.stderr
    assert "Mã truy cập (access token)" in shown and "Mã làm mới (refresh token)" in shown
    assert "access-AAA" not in shown and "refresh-RRR" not in shown
    en = _doithoai(
        "zalo",
        "tokens",
        env={**env, "DOITHOAI_DEFAULT_LOCALE": "en"},
        stdin="access-BBB\nrefresh-SSS\n",
    )
    assert en.returncode == 0, en.stderr
    assert "Access token" in en.stdout + en.stderr
    assert "The Zalo tokens are stored" in en.stdout
    assert _stored(tmp_path) == [("access-BBB", "refresh-SSS")]
