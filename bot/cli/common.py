"""What every command shares: the settings (a bad one: one line, exit 2), running a command's
work with its failures explained, a transaction on a current schema, and the lazy imports that
keep `doithoai --help` fast."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from bot.cli.errors import _report, _state, _translator, redact
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings


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


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(redact(message), err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    """The settings (a bad one: one line naming it, exit 2)."""
    from bot.core.config import SettingsError, load_settings

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


def _context() -> tuple[Settings, Translator]:
    """The settings and a translator in their default language."""
    settings = _settings()
    return settings, Translator(settings.default_locale, settings.zone)


def _go(settings: Settings, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run `work` in one transaction on a database whose schema is current."""

    async def main() -> None:
        from storage.db import create_engine, require_current_schema, session_factory

        engine = create_engine(settings.database_url)
        try:
            await require_current_schema(engine, settings.database_url)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                await work(session)
        finally:
            await engine.dispose()

    _run(main(), settings)
