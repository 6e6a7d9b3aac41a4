"""`doithoai web`: the public board on its own, served by uvicorn.

The board also runs inside `doithoai run --webhook`; this command is for a board served by
another process or machine than the bot (it only reads the database).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer

from bot import logs
from bot.core.i18n import Translator

if TYPE_CHECKING:  # uvicorn and the settings are imported when the command runs
    from bot.core.config import Settings


def web(
    host: str | None = typer.Option(None, help="Address to listen on (default DOITHOAI_HOST)."),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port to listen on (default DOITHOAI_PORT)."
    ),
) -> None:
    """Serve the public board (dialogues, answers, commitments, feeds) over HTTP."""
    from bot.cli.common import _fail, _run, _settings

    settings = _settings()
    host, port = host or settings.host, port or settings.port
    try:
        # Bound here, so that a port in use is one line, not a traceback from the server.
        listener = _bind(host, port)
    except OSError as exc:
        t = Translator(settings.default_locale, settings.zone)
        _fail(
            t._("Cannot listen on {host}:{port}: {reason}").format(
                host=host, port=port, reason=exc.strerror or exc
            )
        )
        raise  # unreachable
    logs.configure(logging.INFO)
    try:
        _run(_serve(settings, listener), settings)
    finally:
        listener.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        # Listening from here: a request that comes before the server has started waits in
        # the backlog rather than being refused.
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def _server_class() -> type:
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn with the command's own signal handling: its own re-raises Ctrl-C after the
        shutdown, which would cut the closing of the database short."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def stop(self) -> None:
            self.should_exit = True

    return _Server


async def _serve(settings: Settings, listener: socket.socket) -> None:
    import asyncio

    import uvicorn

    from bot.board import create_board_app
    from bot.runtime import Runtime
    from bot.web import server_limits

    runtime = Runtime(settings)
    try:
        await runtime.check_schema()
        config = uvicorn.Config(
            create_board_app(runtime),
            log_config=None,  # the service's logging (bot/logs.py)
            access_log=False,  # addresses of readers are nobody's business
            lifespan="off",
            server_header=False,
            **server_limits(),  # slow and greedy clients (bot/web.py)
        )
        t = Translator(settings.default_locale, settings.zone)
        host, port = listener.getsockname()[:2]
        address = f"[{host}]" if ":" in host else host
        typer.echo(
            t._("The board is at http://{address}:{port}/").format(address=address, port=port)
        )
        server = _server_class()(config)
        # Ctrl-C or a service manager's SIGTERM: stop taking requests, finish those under way,
        # close the database, exit 0.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        await server.serve(sockets=[listener])
    finally:
        await runtime.close()
