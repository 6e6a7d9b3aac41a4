"""Webhook mode: the ASGI app the platforms post to, and the uvicorn server that serves it.

A webhook asks its channel's `verify` whether the request is the platform's (Telegram's
secret token, Zalo's signature on the raw bytes), stores the raw event as an IncomingEvent and answers at once:
Zalo gives up after 2 seconds, and an event stored before answering survives the process
dying. The intake worker (bot/intake.py) processes it afterwards, in this process or another.
Nothing here logs a body, a text or a user id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.board import board_routes, not_found_handler
from bot.channels.zalo import ZaloChannel, event_age, event_key
from bot.core import safe_json
from bot.core.messages import Address
from storage import intake as events
from storage.db import ping

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # a platform's event is a few kilobytes; anything this big is not one
KEY_LENGTH = 128  # IncomingEvent.key
HEALTH_TIMEOUT = 5.0
# Slow or greedy clients: what uvicorn is given where it is started (here and bot/cli/web.py).
HEADER_TIMEOUT = 10.0  # seconds to send a request's head, from connecting or the last answer
BODY_TIMEOUT = 10.0  # seconds to send a webhook's body (Zalo itself gives up after 2)
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle connection is kept
MAX_HEADER_BYTES = 16 * 1024  # a request head bigger than this is refused (400)
CONCURRENCY = 200  # connections and requests at once; beyond, uvicorn answers 503
FUTURE_SKEW = timedelta(minutes=1)  # how far ahead of ours Zalo's clock may be


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


async def _read(request: Request, *, timeout: float = BODY_TIMEOUT) -> bytes:
    """The raw body, refusing to buffer more than MAX_BODY or to wait for it longer than
    `timeout` seconds."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise _TooLarge
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise _TooLarge
                chunks.append(chunk)
    except TimeoutError:
        raise _TooSlow from None
    return b"".join(chunks)


def _refused(channel: str, status: int, reason: str) -> Response:
    """A request that is not a platform's event: one log line (no body, no address)."""
    log.warning("%s webhook: request refused (%d): %s", channel, status, reason)
    return Response(status_code=status)


class SlowClientProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request's head: a connection that has
    not sent a whole head within `header_timeout` seconds of connecting, or of its previous
    answer, is closed (uvicorn itself only times out idle keep-alive connections)."""

    header_timeout = HEADER_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport):  # type: ignore[no-untyped-def, override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the head is in: the body has its own deadline (_read)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.cycle is None or self.cycle.response_complete:
            log.debug("web: a client sent no request head in %.0f s: closed", self.header_timeout)
            self.transport.close()


def server_limits(*, header_timeout: float = HEADER_TIMEOUT) -> dict[str, Any]:
    """The uvicorn.Config arguments that bound slow and greedy clients."""
    protocol = type("SlowClientProtocol", (SlowClientProtocol,), {"header_timeout": header_timeout})
    return {
        "http": protocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": CONCURRENCY,
    }


def _fits(key: str) -> str:
    """A platform's key as the column takes it: a long one by its digest."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class _Webhooks:
    """The app's endpoints: the webhooks keep each event for the intake; health and metrics."""

    def __init__(
        self,
        runtime: Runtime,
        telegram: TelegramChannel | None,
        zalo: ZaloChannel | None,
        body_timeout: float,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.telegram = telegram
        self.zalo = zalo
        self.body_timeout = body_timeout
        self.max_event_age = timedelta(minutes=self.settings.zalo_max_event_age)

    def sender_of(self, channel: str, user_id: object) -> str:
        """Who sent it, as a keyed hash: the intake keeps one person's events in order."""
        if not isinstance(user_id, (int, str)) or user_id == "":
            return ""
        address = Address(channel, str(user_id))
        return self.runtime.dispatcher.sealer.message_key("intake sender", address)

    async def keep(
        self,
        channel: str,
        key: str,
        raw: bytes,
        sender: str,
        stored: Callable[[], None] | None = None,
    ) -> Response:
        try:
            async with self.runtime.sessions() as session, session.begin():
                new = await events.store(
                    session,
                    channel=channel,
                    key=_fits(key),
                    body=raw,
                    now=self.runtime.clock(),
                    sender=sender,
                )
        except Exception as exc:
            # Not stored: a non-2xx answer makes the platform deliver it again later.
            log.error("a %s event could not be stored: %s", channel, type(exc).__name__)
            return Response(status_code=503)
        if new:
            self.runtime.intake.wake()
            if stored is not None:
                stored()
        return Response(status_code=200)

    async def _received(self, request: Request, channel: str) -> tuple[bytes, Any] | Response:
        """The raw body and its JSON, parsed within bounds; or the answer refusing them: too
        large (413), too slow (408), not JSON (400)."""
        try:
            raw = await _read(request, timeout=self.body_timeout)
        except _TooLarge:
            return _refused(channel, 413, "body too large")
        except _TooSlow:
            return _refused(channel, 408, "body too slow")
        try:
            return raw, safe_json.loads(raw, max_bytes=MAX_BODY)
        except safe_json.BadJson as exc:
            return _refused(channel, 400, str(exc))

    async def telegram_webhook(self, request: Request) -> Response:
        telegram = self.telegram
        assert telegram is not None  # the route is there only with the channel
        # Telegram's secret is in a header (it signs nothing): a request without it is refused
        # before its body is read.
        if not telegram.verify(b"", request.headers):
            return Response(status_code=403)
        received = await self._received(request, "telegram")
        if isinstance(received, Response):
            return received
        raw, update = received
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return _refused("telegram", 400, "not an update")
        sender = next(
            (
                part["from"].get("id")
                for part in update.values()
                if isinstance(part, dict) and isinstance(part.get("from"), dict)
            ),
            None,
        )

        def acknowledge() -> None:
            # A button press is answered at once: its processing may wait behind others.
            telegram.acknowledge(raw)

        return await self.keep(
            "telegram",
            str(update["update_id"]),
            raw,
            self.sender_of("telegram", sender),
            acknowledge,
        )

    async def zalo_webhook(self, request: Request) -> Response:
        assert self.zalo is not None  # the route is there only with the channel
        received = await self._received(request, "zalo")
        if isinstance(received, Response):
            return received
        # Zalo signs the raw bytes with the event's own timestamp, which is inside them: the
        # body is parsed within bounds to find it, and nothing else of it is used before the
        # signature on the raw bytes is checked.
        raw, event = received
        if not self.zalo.verify(raw, request.headers):
            return Response(status_code=401)
        if not isinstance(event, dict):
            return _refused("zalo", 400, "not an event")
        # A signed event is only taken while fresh: an old one replayed, or one from the
        # future, is refused (Zalo retries within seconds).
        age = event_age(event, self.runtime.clock())
        if age is None:
            return _refused("zalo", 400, "no timestamp")
        if age > self.max_event_age:
            return _refused("zalo", 400, f"event {int(age.total_seconds())} s old")
        if age < -FUTURE_SKEW:
            return _refused("zalo", 400, f"event {int(-age.total_seconds())} s in the future")
        # An event Zalo gives no id (none we know of) is known by its bytes: a replay of it
        # is the same bytes.
        key = event_key(event) or "body:" + hashlib.sha256(raw).hexdigest()
        person = event.get("sender") or event.get("follower") or event.get("user") or {}
        sender = person.get("id") if isinstance(person, dict) else None
        return await self.keep("zalo", key, raw, self.sender_of("zalo", sender))

    async def healthz(self, _request: Request) -> Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await ping(self.runtime.engine)
        except Exception as exc:
            log.warning("health check: the database does not answer (%s)", type(exc).__name__)
            return JSONResponse({"database": "unavailable"}, status_code=503)
        return JSONResponse({"database": "ok"})

    async def prometheus(self, _request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    runtime: Runtime,
    *,
    telegram: TelegramChannel | None = None,
    zalo: ZaloChannel | None = None,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """POST /telegram and POST /zalo (each only when its channel is given), GET /healthz;
    a webhook's body must come within `body_timeout` seconds."""
    settings = runtime.settings
    if zalo is not None and (settings.zalo_app_id is None or settings.zalo_oa_secret_key is None):
        raise ValueError("the Zalo webhook needs ZALO_APP_ID and ZALO_OA_SECRET_KEY")
    hooks = _Webhooks(runtime, telegram, zalo, body_timeout)
    routes = [
        Route("/healthz", hooks.healthz, methods=["GET"]),
        Route("/metrics", hooks.prometheus, methods=["GET"]),
    ]
    if telegram is not None:
        routes.append(Route("/telegram", hooks.telegram_webhook, methods=["POST"]))
    if zalo is not None:
        routes.append(Route("/zalo", hooks.zalo_webhook, methods=["POST"]))
    # The public board (issue 6) is served by the same app: /, /doi-thoai/…, feeds, sitemap.
    routes += board_routes(runtime)
    return Starlette(routes=routes, exception_handlers={404: not_found_handler(runtime)})


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the command (or the test) decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class WebServer:
    """The app served by uvicorn in the running event loop, beside the outbox and the rest."""

    def __init__(
        self, app: Starlette, *, host: str, port: int, header_timeout: float = HEADER_TIMEOUT
    ):
        """Binds at once, so that a port in use is an OSError here (port 0: any free port)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError:
            self.socket.close()
            raise
        self.socket.set_inheritable(True)
        self.host = host
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # the service's logging, libraries capped (bot/logs.py)
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            server_header=False,
            **server_limits(header_timeout=header_timeout),
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop taking requests; those under way finish (an event being stored is stored)."""
        if self._task is not None:
            self._server.should_exit = True
            await asyncio.wait({self._task}, timeout=10)
            self._task = None
        self.socket.close()
