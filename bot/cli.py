"""The `doithoai` command: run the bot, chat in the terminal, play the demo, migrate the database.

Bad settings stop a command with one line naming the setting and exit code 2, no traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import typer

from bot import logs
from bot.config import Settings, SettingsError, load_settings, require
from bot.i18n import Translator

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # its tracebacks print local variables: secrets among them
    help="doithoai: policy dialogues over chat.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
app.add_typer(db_app, name="db")


def _register_subcommands() -> None:
    from bot.cli_consultation import consultation_app
    from bot.cli_dialogues import dialogue_app
    from bot.cli_export import export_app
    from bot.cli_households import households_app
    from bot.cli_outbox import outbox_app
    from bot.cli_staff import agency_app, staff_app, zalo_app

    app.add_typer(dialogue_app, name="dialogue")
    app.add_typer(households_app, name="households")
    app.add_typer(staff_app, name="staff")
    app.add_typer(agency_app, name="agency")
    app.add_typer(export_app, name="export")
    app.add_typer(zalo_app, name="zalo")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(consultation_app, name="consultation")
    from bot.cli_web import web

    app.command()(web)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        t = Translator("vi")
        _fail(t._("Configuration error: {detail}").format(detail=exc))
        raise  # unreachable


def _run(coroutine: Coroutine[Any, Any, None], settings: Settings) -> None:
    from storage.db import SchemaBehind

    t = Translator(settings.default_locale, settings.zone)
    try:
        asyncio.run(coroutine)
    except SettingsError as exc:
        _fail(t._("Configuration error: {detail}").format(detail=exc))
    except SchemaBehind as exc:
        _fail(
            t._(
                "The database schema is behind the code ({detail}): run `doithoai db upgrade`."
            ).format(detail=exc)
        )
    except (OSError, ConnectionError) as exc:
        _fail(t._("Cannot reach the database: {detail}").format(detail=exc))


@app.command()
def run(
    webhook: bool = typer.Option(
        False,
        "--webhook",
        help="Serve webhooks (Telegram, and Zalo when configured) on DOITHOAI_HOST:PORT "
        "instead of long polling; several processes may share one PostgreSQL database.",
    ),
) -> None:
    """Run the bot on Telegram (long polling by default) and deliver the outbox."""
    settings = _settings()
    try:
        require(settings, "telegram_token", "secret_key")
        if webhook:
            require(settings, "webhook_url", "webhook_secret")
    except SettingsError as exc:
        _fail(
            Translator(settings.default_locale)
            ._("Configuration error: {detail}")
            .format(detail=exc)
        )
    logs.configure(logging.INFO)
    _run(_serve(settings, webhook=webhook), settings)


async def _serve(settings: Settings, *, webhook: bool = False) -> None:
    from bot.channels.telegram import TelegramChannel
    from bot.clock import Ticker
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    server = None
    zalo = None
    try:
        await runtime.check_schema()
        assert settings.telegram_token is not None
        telegram = TelegramChannel(
            token=settings.telegram_token.get_secret_value(),
            api_url=settings.telegram_api_url,
            dispatch=runtime.dispatcher.dispatch,
            default_locale=settings.default_locale,
            rate=settings.telegram_rate,
            spacing=timedelta(seconds=settings.telegram_chat_interval),
            webhook=webhook,
        )
        runtime.add_channel(telegram)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Zalo posts its events to the webhook only; without one, what is queued for Zalo
        # chats (invitations, answers) is still delivered.
        zalo = _zalo_channel(runtime)
        if webhook:
            server = _web_server(runtime, telegram, zalo)
            await server.start()
            assert settings.webhook_url is not None and settings.webhook_secret is not None
            # Only once the server takes requests: Telegram posts as soon as it is set.
            await telegram.start_webhook(
                f"{settings.webhook_url}/telegram", settings.webhook_secret.get_secret_value()
            )
        else:
            await telegram.start_polling()
        delivery = asyncio.create_task(runtime.outbox.run())
        intake = asyncio.create_task(runtime.intake.run()) if webhook else None
        ticker = Ticker(
            runtime.sessions,
            clock=runtime.clock,
            zone=settings.zone,
            default_locale=settings.default_locale,
            on_messages=runtime.outbox.wake,
            policy=settings.policy,
            retention=timedelta(days=settings.retention_days),
        )
        ticker.start()
        if settings.metrics_port is not None and not webhook:
            from prometheus_client import start_http_server

            # Polling has no web app: /metrics on a port of its own.
            start_http_server(settings.metrics_port, addr=settings.host)
        progress = asyncio.create_task(_report_progress(runtime))
        if server is not None:
            logging.getLogger("doithoai").info(
                "running: webhooks (%s) on %s:%d, clock ticking, outbox delivering",
                "Telegram, Zalo" if zalo is not None else "Telegram",
                server.host,
                server.port,
            )
        else:
            logging.getLogger("doithoai").info(
                "running: Telegram polling%s, clock ticking, outbox delivering",
                ", Zalo sending only (its events need --webhook)" if zalo is not None else "",
            )
        await stop.wait()
        if server is not None:
            await server.stop()  # requests under way finish: what they stored is kept
        ticker.stop()
        progress.cancel()
        if intake is not None:
            intake.cancel()  # an event it held goes to another process when its lease ends
        delivery.cancel()
        await telegram.stop()
    finally:
        if server is not None:
            await server.stop()
        if zalo is not None:
            await zalo.close()
        await runtime.close()


def _zalo_channel(runtime):
    """The Zalo channel when Zalo is configured (its webhook and its deliveries), else None."""
    if not runtime.settings.zalo_enabled:
        return None
    from bot.channels.zalo import ZaloChannel

    zalo = ZaloChannel(
        settings=runtime.settings,
        sessions=runtime.sessions,
        sealer=runtime.dispatcher.sealer,
        clock=runtime.clock,
    )
    runtime.add_channel(zalo)
    return zalo


def _web_server(runtime, telegram, zalo):
    """The webhooks' app, bound to settings.host:port (a port in use: one line, exit 2)."""
    from bot.web import WebServer, create_app

    settings = runtime.settings
    try:
        return WebServer(
            create_app(runtime, telegram=telegram, zalo=zalo),
            host=settings.host,
            port=settings.port,
        )
    except OSError as exc:
        t = Translator(settings.default_locale, settings.zone)
        raise SettingsError(
            t._("cannot listen on {host}:{port}: {detail}").format(
                host=settings.host, port=settings.port, detail=exc.strerror or exc
            )
        ) from None


async def _report_progress(runtime, every: float = 10.0) -> None:
    """A log line whenever the outbox's backlog changes (waiting, unknown) with what this
    process sent meanwhile; the same figures for /metrics. Reads only the rows not yet final
    (an index range), never the whole table."""
    from bot import metrics
    from storage.db import reading
    from storage.outbox import waiting

    log = logging.getLogger("doithoai.outbox")
    last: tuple[int, int] | None = None
    while True:
        await asyncio.sleep(every)
        try:
            async with reading(runtime.sessions) as session:
                now = await waiting(session)
        except Exception as exc:
            log.warning("could not read the outbox's backlog (%s)", type(exc).__name__)
            continue
        metrics.OUTBOX_ROWS.clear()
        for (channel, status), count in now.items():
            metrics.OUTBOX_ROWS.labels(channel, status).set(count)
        pending = sum(n for (_, status), n in now.items() if status != "unknown")
        unknown = sum(n for (_, status), n in now.items() if status == "unknown")
        if (pending, unknown) != last:
            sent = sum(
                sample.value
                for sample in metrics.SENDS.collect()[0].samples
                if sample.name.endswith("_total") and sample.labels.get("result") == "sent"
            )
            log.info(
                "outbox: %d waiting, %d unknown; %d sent by this process", pending, unknown, sent
            )
            last = (pending, unknown)


@app.command()
def console(
    user: str = typer.Option("console-user", help="Who you are in this chat (any id)."),
    name: str = typer.Option("Người dùng thử", help="Your display name."),
) -> None:
    """Chat with the bot in this terminal as USER (buttons answer by number; Ctrl-D quits)."""
    settings = _settings()
    _run(_console(settings, user, name), settings)


async def _console(settings: Settings, user: str, name: str) -> None:
    from bot.channels.console import ConsoleChannel
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    channel = ConsoleChannel()
    runtime.add_channel(channel)
    try:
        await runtime.check_schema()
        t = Translator(settings.default_locale, settings.zone)
        typer.echo(t._("Type /start to begin, a number to press a button, Ctrl-D to leave."))
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            await runtime.dispatcher.dispatch(channel.parse(user, line, display_name=name))
            await runtime.outbox.drain(channel.name)
    finally:
        await runtime.close()


@app.command()
def demo(locale: str = typer.Option("vi", help="vi or en.")) -> None:
    """Play a scripted conversation on a fresh temporary database: no token, no network."""
    from bot.demo import play

    if locale not in ("vi", "en"):
        _fail("--locale: vi | en")
    asyncio.run(play(locale=locale))


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    from storage.db import upgrade

    settings = _settings()
    try:
        upgrade(settings.database_url, revision)
    except (OSError, ConnectionError) as exc:
        _fail(
            Translator(settings.default_locale)
            ._("Cannot reach the database: {detail}")
            .format(detail=exc)
        )
    typer.echo(Translator(settings.default_locale)._("The database schema is up to date."))


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations have drifted apart."""
    from storage.db import check

    check(_settings().database_url)


def main() -> None:
    _register_subcommands()
    app()
