"""`doithoai doctor`: is this installation ready, and is it running? One line per check, ✓ or
✗ with what to do: the settings, the database and its schema, the Telegram token (getMe),
Telegram's webhook registration (getWebhookInfo), Zalo's tokens, the clock's last tick, the
outbox's backlog. Exit code 1 when any check fails. Secrets are never printed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from bot.core.i18n import Translator
from bot.core.lifecycles import OutboxStatus

if TYPE_CHECKING:
    from bot.core.config import Settings

# The clock ticks every few seconds while `doithoai run` runs: older than this, it is stopped.
CLOCK_LATE = timedelta(minutes=2)


@dataclass
class Check:
    ok: bool | None  # None: not applicable (e.g. Zalo not configured)
    what: str
    detail: str

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "–"}[self.ok]
        return f"{mark} {self.what}: {self.detail}"


def doctor() -> None:
    """Check the settings, the database, Telegram, Zalo, the webhook, the clock and the outbox."""
    from bot.cli.common import asyncio
    from bot.cli.errors import _translator, redact
    from bot.core.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        t = _translator()
        typer.echo(redact(Check(False, t._("Settings"), str(exc)).line()))
        raise typer.Exit(1) from None
    from bot.cli.common import _remember

    _remember(settings)
    t = Translator(settings.default_locale, settings.zone)
    checks = asyncio.run(_checks(settings, t))
    for check in checks:
        typer.echo(redact(check.line()))
    if any(check.ok is False for check in checks):
        raise typer.Exit(1)


async def _checks(settings: Settings, t: Translator) -> list[Check]:
    from bot.cli.errors import database_name

    checks = [
        Check(
            True,
            t._("Settings"),
            t._("read; database {database}, time zone {zone}").format(
                database=database_name(settings.database_url), zone=settings.timezone
            ),
        )
    ]
    checks += await _database_checks(settings, t)
    checks += await _telegram_checks(settings, t)
    return checks


async def _database_checks(settings: Settings, t: Translator) -> list[Check]:
    from bot.cli.errors import _explain, database_name
    from bot.core.clock import utcnow
    from storage import heartbeats, tokens
    from storage import outbox as outbox_store
    from storage.db import create_engine, reading, schema_is_current, session_factory

    database = t._("Database")
    engine = create_engine(settings.database_url)
    try:
        try:
            current, found, head = await schema_is_current(engine, settings.database_url)
        except Exception as exc:
            return [Check(False, database, _explain(exc, t)[0])]
        name = database_name(settings.database_url)
        if found is None:
            return [
                Check(
                    False,
                    database,
                    t._("{database} has no schema yet: run `doithoai db upgrade`.").format(
                        database=name
                    ),
                )
            ]
        if not current:
            return [
                Check(
                    False,
                    database,
                    t._(
                        "{database} is at {found}, the code at {head}: run `doithoai db upgrade`."
                    ).format(database=name, found=found, head=head),
                )
            ]
        checks = [
            Check(
                True,
                database,
                t._("{database} reachable, schema at {revision} (the newest)").format(
                    database=name, revision=head
                ),
            )
        ]
        now = utcnow()
        async with reading(session_factory(engine)) as session:
            if settings.zalo_enabled:
                checks.append(_zalo(t, await tokens.load(session, channel="zalo"), settings, now))
            else:
                checks.append(Check(None, "Zalo", t._("not configured (DOITHOAI_ZALO_APP_ID)")))
            checks.append(_clock(t, await heartbeats.last(session, name="clock"), now))
            checks.append(_outbox(t, await outbox_store.waiting(session)))
        return checks
    finally:
        await engine.dispose()


def _zalo(t: Translator, row: Any, settings: Settings, now: datetime) -> Check:
    from storage.tokens import SPENT

    if row is None:
        if settings.zalo_access_token is not None and settings.zalo_refresh_token is not None:
            return Check(
                True, "Zalo", t._("first tokens in the settings, stored at the first start")
            )
        return Check(
            False,
            "Zalo",
            t._(
                "no tokens: set DOITHOAI_ZALO_ACCESS_TOKEN and _REFRESH_TOKEN, or run `doithoai zalo tokens`"
            ),
        )
    if row.refresh_token == SPENT:
        return Check(
            False,
            "Zalo",
            t._("the refresh token was refused by Zalo: run `doithoai zalo tokens` with new ones"),
        )
    if row.expires_at <= now:
        return Check(True, "Zalo", t._("tokens stored; the access token is renewed when next used"))
    return Check(
        True,
        "Zalo",
        t._("tokens stored; the access token is valid until {when}").format(
            when=t.datetime(row.expires_at)
        ),
    )


def _ago(t: Translator, delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return t._("{n} s ago").format(n=seconds)
    if seconds < 7200:
        return t._("{n} min ago").format(n=seconds // 60)
    return t._("{n} h ago").format(n=seconds // 3600)


def _clock(t: Translator, last: datetime | None, now: datetime) -> Check:
    clock = t._("Clock")
    if last is None:
        return Check(
            False,
            clock,
            t._("it has never ticked: start `doithoai run` (reminders and digests need it)"),
        )
    if now - last > CLOCK_LATE:
        return Check(
            False,
            clock,
            t._("last tick {ago}: is `doithoai run` running?").format(ago=_ago(t, now - last)),
        )
    return Check(True, clock, t._("last tick {ago}").format(ago=_ago(t, now - last)))


def _outbox(t: Translator, waiting: dict[tuple[str, str], int]) -> Check:
    outbox = t._("Outbox")
    pending = sum(n for (_, status), n in waiting.items() if status != OutboxStatus.UNKNOWN)
    unknown = sum(n for (_, status), n in waiting.items() if status == OutboxStatus.UNKNOWN)
    detail = t._("{pending} waiting, {unknown} unknown").format(pending=pending, unknown=unknown)
    if unknown:
        return Check(
            False,
            outbox,
            detail + " — " + t._("see `doithoai outbox unknown`, then resend or not"),
        )
    return Check(True, outbox, detail)


async def _telegram_checks(settings: Settings, t: Translator) -> list[Check]:
    """getMe (the token) and getWebhookInfo (where Telegram sends the updates)."""
    import httpx

    from bot.cli.errors import _first_line

    telegram = "Telegram"
    if settings.telegram_token is None:
        return [
            Check(
                False, telegram, t._("DOITHOAI_TELEGRAM_TOKEN is not set (ask @BotFather for one)")
            )
        ]
    base = f"{settings.telegram_api_url}/bot{settings.telegram_token.get_secret_value()}"
    async with httpx.AsyncClient(timeout=15) as client:
        try:
            me = await client.post(f"{base}/getMe")
            if me.status_code in (401, 404):
                return [
                    Check(
                        False,
                        telegram,
                        t._(
                            "the token was refused: copy it again from @BotFather (/mybots → API Token)"
                        ),
                    )
                ]
            me.raise_for_status()
            username = me.json()["result"].get("username", "?")
            info = (await client.post(f"{base}/getWebhookInfo")).json()["result"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return [
                Check(
                    False,
                    telegram,
                    t._(
                        "cannot reach {url} ({detail}): check the network or DOITHOAI_TELEGRAM_API_URL"
                    ).format(
                        url=settings.telegram_api_url,
                        detail=_first_line(exc) or type(exc).__name__,
                    ),
                )
            ]
    checks = [
        Check(
            True, telegram, t._("the token works: the bot is @{username}").format(username=username)
        )
    ]
    return [*checks, _webhook_check(settings, t, info)]


def _webhook_check(settings: Settings, t: Translator, info: dict) -> Check:
    """Where Telegram sends the updates (getWebhookInfo) against DOITHOAI_WEBHOOK_URL."""
    webhook = t._("Webhook")
    registered = info.get("url", "")
    error = info.get("last_error_message")
    if settings.webhook_url is None:
        if registered:
            return Check(
                False,
                webhook,
                t._(
                    "Telegram sends the updates to {url}, but DOITHOAI_WEBHOOK_URL is not set: "
                    "set it and use `doithoai run --webhook`, or long polling will be refused"
                ).format(url=registered),
            )
        return Check(True, webhook, t._("none: `doithoai run` uses long polling"))
    expected = f"{settings.webhook_url}/telegram"
    if registered != expected:
        return Check(
            False,
            webhook,
            t._(
                "Telegram sends the updates to {url}, not {expected}: start `doithoai run "
                "--webhook`, which registers it"
            ).format(url=registered or "–", expected=expected),
        )
    if error:
        return Check(
            False,
            webhook,
            t._("registered at {url}, but Telegram reports: {error}").format(
                url=registered, error=error
            ),
        )
    pending = info.get("pending_update_count", 0)
    return Check(
        True,
        webhook,
        t._("registered at {url}; {pending} updates waiting").format(
            url=registered, pending=pending
        ),
    )
