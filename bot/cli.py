"""The `doithoai` command: run the bot, chat in the terminal, play the demo, migrate the database.

Every failure a person can meet — bad settings, a token Telegram refuses, no network, a database
out of reach or not migrated, a file that cannot be read — ends as ONE line in their language
naming what to do, exit code 2 (settings, usage) or 1 (at run time); `doithoai --debug …`
shows the traceback. Secrets (tokens, keys, the database's password) are never printed.

Only typer and the catalogs are imported at start: each command imports what it uses, so that
`doithoai --help` and light commands start at once (see bench/bench_cli.py).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.config import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # its tracebacks print local variables: secrets among them
    help="doithoai: policy dialogues over chat.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
app.add_typer(db_app, name="db")

# What the error handler needs to know: --debug, the person's language, the secrets to hide.
_state: dict[str, Any] = {"debug": False, "locale": None, "secrets": set(), "database": None}


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="On an error, show the traceback too (secrets hidden)."
    ),
) -> None:
    _state["debug"] = debug


def _register_subcommands() -> None:
    from bot.cli_consultation import consultation_app
    from bot.cli_dialogues import dialogue_app
    from bot.cli_doctor import doctor
    from bot.cli_export import export_app
    from bot.cli_households import households_app
    from bot.cli_outbox import outbox_app
    from bot.cli_staff import agency_app, staff_app, zalo_app
    from bot.cli_web import web

    app.add_typer(dialogue_app, name="dialogue")
    app.add_typer(households_app, name="households")
    app.add_typer(staff_app, name="staff")
    app.add_typer(agency_app, name="agency")
    app.add_typer(export_app, name="export")
    app.add_typer(zalo_app, name="zalo")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(consultation_app, name="consultation")
    app.command()(web)
    app.command()(doctor)
    # Plain help: rich's formatting would double the start-up time of `doithoai --help`.
    for typer_app in (app, *(group.typer_instance for group in app.registered_groups)):
        typer_app.rich_markup_mode = None


class LazyConsole:
    """A rich Console made when first used (rich is not imported by `--help`). Piped or
    redirected output is not wrapped at 80 columns: one line stays one line."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Any = None

    @property
    def real(self) -> Any:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            piped = not stream.isatty() and not os.environ.get("COLUMNS")
            self._console = Console(stderr=self._stderr, width=100_000 if piped else None)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class Lazy:
    """A module, or a name in one, imported when first used: the commands' modules name what
    they use at the top as usual, and `doithoai --help` imports none of it."""

    def __init__(self, module: str, name: str | None = None) -> None:
        self._module, self._name, self._target = module, name, None

    def _load(self) -> Any:
        if self._target is None:
            import importlib

            module = importlib.import_module(self._module)
            self._target = getattr(module, self._name) if self._name else module
        return self._target

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._load()(*args, **kwargs)


asyncio = Lazy("asyncio")  # imported by the commands that run something


def _translator() -> Translator:
    locale = _state["locale"] or os.environ.get("DOITHOAI_DEFAULT_LOCALE", "vi").strip()
    return Translator(locale if locale in ("vi", "en") else "vi")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(redact(message), err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    """The settings (a bad one: one line naming it, exit 2)."""
    from bot.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(_translator()._("Configuration error: {detail}").format(detail=exc))
    _remember(settings)
    return settings


def _remember(settings: Settings) -> None:
    from pydantic import SecretStr

    _state["locale"] = settings.default_locale
    _state["database"] = settings.database_url
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            _state["secrets"].add(value.get_secret_value())


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
    from bot.config import SettingsError

    if isinstance(exc, SettingsError):
        return t._("Configuration error: {detail}").format(detail=exc), 2
    database = database_name(_state["database"]) if _state["database"] else "?"
    if type(exc).__name__ == "SchemaBehind":
        if str(exc).startswith("empty "):
            return (
                t._("The database {database} has no schema yet: run `doithoai db upgrade`.").format(
                    database=database
                ),
                2,
            )
        return (
            t._(
                "The database schema is behind the code ({detail}): run `doithoai db upgrade`."
            ).format(detail=exc),
            2,
        )
    if "telegram" in sys.modules:
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
            return (
                t._("Telegram refused the request: {detail}").format(detail=_first_line(exc)),
                1,
            )
    if "httpx" in sys.modules:
        import httpx

        if isinstance(exc, httpx.HTTPError):
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
    if "alembic" in sys.modules:
        from alembic.util.exc import CommandError

        if isinstance(exc, CommandError):
            return t._("Migration error: {detail}").format(detail=_first_line(exc)), 2
    if "sqlalchemy" in sys.modules:
        from sqlalchemy import exc as sa

        if isinstance(exc, sa.DBAPIError):
            detail = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
            detail = re.sub(r"^\([\w.]+\)\s*", "", detail)
            if re.search(r"no such table|relation .* does not exist", detail):
                return (
                    t._(
                        "The database {database} has no schema yet: run `doithoai db upgrade`."
                    ).format(database=database),
                    2,
                )
            return _unreachable(t, database, detail), 1
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


def _unreachable(t: Translator, database: str, detail: str) -> str:
    return t._(
        "Cannot reach the database {database}: {detail}. Check DOITHOAI_DATABASE_URL and that "
        "the database server is running."
    ).format(database=database, detail=detail)


def _report(exc: BaseException) -> NoReturn:
    if _state["debug"]:
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    line, code = _explain(exc, _translator())
    typer.echo(redact(line), err=True)
    raise SystemExit(code)


def _run(coroutine: Coroutine[Any, Any, None], settings: Settings) -> None:
    """Run a command's work; what fails is explained in one line (also when a command's group
    is invoked on its own, as the tests do)."""
    _remember(settings)
    try:
        asyncio.run(coroutine)
    except (typer.Exit, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:
        _report(exc)


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
    import logging

    from bot import logs
    from bot.config import require

    settings = _settings()
    require(settings, "telegram_token", "secret_key")
    if webhook:
        require(settings, "webhook_url", "webhook_secret")
    logs.configure(logging.INFO)
    _run(_serve(settings, webhook=webhook), settings)


async def _serve(settings: Settings, *, webhook: bool = False) -> None:
    import logging
    import signal

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
        await ticker.stopped()  # a tick under way ends (rolled back) before the database closes
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
    from bot.config import SettingsError
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
            await runtime.dispatcher.dispatch(
                channel.parse(channel.typed(user, line, display_name=name))
            )
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
    """Create the schema, or apply the migrations up to REVISION (default: the newest)."""
    from storage.db import upgrade

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    database = database_name(settings.database_url)
    before = asyncio.run(_revision(settings.database_url))
    upgrade(settings.database_url, revision)
    after = asyncio.run(_revision(settings.database_url))
    if before == after:
        message = t._("The schema of {database} is already at {new}: nothing to do.")
    elif before is None:
        message = t._("Created the schema of {database} (revision {new}).")
    else:
        message = t._("Upgraded the schema of {database} from {old} to {new}.")
    typer.echo(message.format(database=database, old=before, new=after or "–"))


async def _revision(url: str) -> str | None:
    from storage.db import create_engine, current_revision

    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


@db_app.command("check")
def db_check() -> None:
    """Check that the database is at the code's schema and the models match the migrations."""
    import io

    from alembic import command

    from storage.db import SchemaBehind, alembic_config, head_revision

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    database = database_name(settings.database_url)
    found = asyncio.run(_revision(settings.database_url))
    head = head_revision(settings.database_url)
    if found != head:
        raise SchemaBehind(f"{found or 'empty'} -> {head}")
    from alembic.util.exc import CommandError

    config = alembic_config(settings.database_url)
    config.stdout = io.StringIO()  # its own "No new upgrade operations detected."
    try:
        command.check(config)
    except CommandError as exc:
        _fail(
            t._("The models and the migrations differ ({detail}): a migration is missing.").format(
                detail=_first_line(exc)
            ),
            1,
        )
    typer.echo(
        t._("The schema of {database} is at {revision}, the newest, and matches the code.").format(
            database=database, revision=head
        )
    )


def main() -> None:
    _register_subcommands()
    usage_error = typer.BadParameter.__base__  # click's UsageError
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:  # one line, and where to read more
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # the command's help
            raise SystemExit(2) from None
        where = exc.ctx.command_path if exc.ctx is not None else "doithoai"
        line = " ".join(exc.format_message().split())
        typer.echo(redact(f"{line} (`{where} --help`)"), err=True)
        raise SystemExit(exc.exit_code) from None
    except typer.BadParameter.__mro__[2] as exc:  # click's ClickException
        typer.echo(redact(" ".join(exc.format_message().split())), err=True)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        typer.echo(_translator()._("Stopped."), err=True)
        raise SystemExit(1) from None
    except SystemExit:
        raise
    except Exception as exc:
        _report(exc)
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # python -m bot.cli: the one module bot.cli, not a copy as __main__
    from bot.cli import main as _main

    _main()
