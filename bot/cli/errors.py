"""What a failed command says: one line in the person's language naming what to do, and its
exit code; secrets (tokens, keys, the database's password) never shown."""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any, NoReturn

import typer

from bot.core.i18n import Translator

# What the error handler needs to know: --debug, the person's language, the secrets to hide.
_state: dict[str, Any] = {"debug": False, "locale": None, "secrets": set(), "database": None}


def _translator() -> Translator:
    locale = _state["locale"] or os.environ.get("DOITHOAI_DEFAULT_LOCALE", "vi").strip()
    return Translator(locale if locale in ("vi", "en") else "vi")


_TOKEN = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{20,}\b")
_BOT_PATH = re.compile(r"/bot[^/\s'\"]+")


def redact(text: str) -> str:
    """`text` without any secret: the settings' secrets, anything shaped like a bot token,
    the token in a Bot API URL, a database URL's password."""
    for secret in sorted(_state["secrets"], key=len, reverse=True):
        text = text.replace(secret, "***")
    for name, value in os.environ.items():
        if name.startswith("DOITHOAI_") and any(
            word in name for word in ("TOKEN", "SECRET", "KEY")
        ):
            if len(value) >= 4:
                text = text.replace(value, "***")
    text = _TOKEN.sub("***", text)
    text = _BOT_PATH.sub("/bot***", text)
    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


def database_name(url: str) -> str:
    """The database as a person names it, without password or driver: a file for SQLite,
    postgresql://user@host:port/name otherwise."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return redact(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()}://{user}{parsed.host or ''}{port}/{parsed.database or ''}"


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _explain(exc: BaseException, t: Translator) -> tuple[str, int]:
    """One line naming what went wrong and what to do, and the exit code."""
    from bot.core.config import SettingsError

    if isinstance(exc, SettingsError):
        return t._("Configuration error: {detail}").format(detail=exc), 2
    database = database_name(_state["database"]) if _state["database"] else "?"
    for explain in (_schema, _telegram, _http, _database):
        found = explain(exc, t, database)
        if found is not None:
            return found
    if isinstance(exc, OSError):
        if exc.filename is not None:
            return (
                t._("Cannot read {path}: {reason}.").format(
                    path=exc.filename, reason=exc.strerror or exc
                ),
                2,
            )
        return _unreachable(t, database, exc.strerror or _first_line(exc)), 1
    return (
        t._(
            "Unexpected error: {detail}. Run it again as `doithoai --debug …` to see where, and "
            "report it."
        ).format(detail=f"{type(exc).__name__}: {_first_line(exc)}"),
        1,
    )


def _schema(exc: BaseException, t: Translator, database: str) -> tuple[str, int] | None:
    """A schema behind the code, or none at all."""
    if type(exc).__name__ != "SchemaBehind":
        return None
    if str(exc).startswith("empty "):
        return _no_schema(t, database), 2
    return (
        t._("The database schema is behind the code ({detail}): run `doithoai db upgrade`.").format(
            detail=exc
        ),
        2,
    )


def _no_schema(t: Translator, database: str) -> str:
    return t._("The database {database} has no schema yet: run `doithoai db upgrade`.").format(
        database=database
    )


def _telegram(exc: BaseException, t: Translator, database: str) -> tuple[str, int] | None:
    """A token Telegram refuses, Telegram out of reach, or a request it refused."""
    if "telegram" not in sys.modules:
        return None
    from telegram import error as tg

    if isinstance(exc, tg.InvalidToken):
        return (
            t._(
                "Telegram refused the token DOITHOAI_TELEGRAM_TOKEN: copy it again from "
                "@BotFather (/mybots → API Token)."
            ),
            2,
        )
    if isinstance(exc, tg.NetworkError):
        return (
            t._(
                "Cannot reach Telegram ({detail}): check the network connection or "
                "DOITHOAI_TELEGRAM_API_URL, then try again."
            ).format(detail=_first_line(exc) or type(exc).__name__),
            1,
        )
    if isinstance(exc, tg.TelegramError):
        return t._("Telegram refused the request: {detail}").format(detail=_first_line(exc)), 1
    return None


def _http(exc: BaseException, t: Translator, database: str) -> tuple[str, int] | None:
    """A host out of reach (Zalo, or any other the command spoke to)."""
    if "httpx" not in sys.modules:
        return None
    import httpx

    if not isinstance(exc, httpx.HTTPError):
        return None
    where = ""
    with_request = getattr(exc, "_request", None)
    if with_request is not None:
        where = f"{with_request.url.scheme}://{with_request.url.host}"
    return (
        t._("Cannot reach {where}: {detail}. Check the network and try again.").format(
            where=where or "?", detail=_first_line(exc) or type(exc).__name__
        ),
        1,
    )


def _database(exc: BaseException, t: Translator, database: str) -> tuple[str, int] | None:
    """A migration that failed, a database with no schema, or one out of reach."""
    if "alembic" in sys.modules:
        from alembic.util.exc import CommandError

        if isinstance(exc, CommandError):
            return t._("Migration error: {detail}").format(detail=_first_line(exc)), 2
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy import exc as sa

    if not isinstance(exc, sa.DBAPIError):
        return None
    detail = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    detail = re.sub(r"^\([\w.]+\)\s*", "", detail)
    if re.search(r"no such table|relation .* does not exist", detail):
        return _no_schema(t, database), 2
    return _unreachable(t, database, detail), 1


def _unreachable(t: Translator, database: str, detail: str) -> str:
    return t._(
        "Cannot reach the database {database}: {detail}. Check DOITHOAI_DATABASE_URL and that "
        "the database server is running."
    ).format(database=database, detail=detail)


def _report(exc: BaseException) -> NoReturn:
    if _state["debug"]:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    line, code = _explain(exc, _translator())
    typer.echo(redact(line), err=True)
    raise SystemExit(code)
