"""`doithoai run` (polling or webhooks), `console` and `demo`: the service assembled by
bot.runtime, started, and stopped cleanly."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _fail, _run, _settings, asyncio
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from bot.core.config import Settings


def run(
    webhook: bool = typer.Option(
        False,
        "--webhook",
        help="Serve webhooks (Telegram, and Zalo when configured) on DOITHOAI_HOST:PORT "
        "instead of long polling; several processes may share one PostgreSQL database.",
    ),
) -> None:
    """Run the bot on Telegram (long polling by default) and deliver the outbox."""
    import logging

    from bot import logs
    from bot.core.config import require

    settings = _settings()
    require(settings, "telegram_token", "secret_key")
    if webhook:
        require(settings, "webhook_url", "webhook_secret")
    logs.configure(logging.INFO)
    _run(_serve(settings, webhook=webhook), settings)


async def _serve(settings: Settings, *, webhook: bool = False) -> None:
    import signal

    from bot.runtime import Runtime

    runtime = Runtime(settings)
    server = None
    try:
        await runtime.check_schema()
        runtime.add_configured_channels(webhook=webhook)
        telegram, zalo = runtime.telegram, runtime.zalo
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Zalo posts its events to the webhook only; without one, what is queued for Zalo
        # chats (invitations, answers) is still delivered.
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
        ticker = runtime.ticker()
        ticker.start()
        if settings.metrics_port is not None and not webhook:
            from prometheus_client import start_http_server

            # Polling has no web app: /metrics on a port of its own.
            start_http_server(settings.metrics_port, addr=settings.host)
        progress = asyncio.create_task(_report_progress(runtime))
        _log_running(server, zalo)
        await stop.wait()
        if server is not None:
            await server.stop()  # requests under way finish: what they stored is kept
        await ticker.stopped()  # a tick under way ends (rolled back) before the database closes
        progress.cancel()
        if intake is not None:
            intake.cancel()  # an event it held goes to another process when its lease ends
        delivery.cancel()
        await telegram.stop()
    finally:
        if server is not None:
            await server.stop()
        await runtime.close()


def _log_running(server, zalo) -> None:
    import logging

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


def _web_server(runtime, telegram, zalo):
    """The webhooks' app, bound to settings.host:port (a port in use: one line, exit 2)."""
    from bot.core.config import SettingsError
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
    import logging

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
            await runtime.dispatcher.dispatch(
                channel.parse(channel.typed(user, line, display_name=name))
            )
            await runtime.outbox.drain(channel.name)
    finally:
        await runtime.close()


def demo(locale: str = typer.Option("vi", help="vi or en.")) -> None:
    """Play a scripted conversation on a fresh temporary database: no token, no network."""
    from bot.demo import play

    if locale not in ("vi", "en"):
        _fail("--locale: vi | en")
    asyncio.run(play(locale=locale))
