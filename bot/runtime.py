"""The service put together: engine, sessions, dispatcher, outbox, intake, clock and channels,
for one process. The one place the service is assembled, for every command: `run` (polling or
webhooks), `dialogue invite`, `web`, `demo` and `console` build a Runtime, and those that send
add every configured channel with `add_configured_channels`, so that what one command queues
goes out on Telegram and Zalo alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.config import Settings, require
from bot.dispatcher import Dispatcher, utcnow
from bot.intake import Intake
from bot.outbox import Outbox
from bot.services import Notifier
from storage.db import create_engine, require_current_schema, session_factory

if TYPE_CHECKING:
    from bot.channels import Channel
    from bot.clock import Ticker


class Runtime:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow):
        require(settings, "secret_key")
        assert settings.secret_key is not None
        self.settings = settings
        self.clock = clock
        self.notifier = Notifier.from_settings(settings, clock=clock)
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.channels: dict[str, Channel] = {}
        self.telegram: Any = None  # the channels add_configured_channels made, to start and stop
        self.zalo: Any = None
        self._sending = False
        self.outbox = Outbox(self.sessions, self.channels, clock=clock)
        self.dispatcher = Dispatcher(
            self.sessions,
            sealer=self.notifier.require_sealer(),
            zone=settings.zone,
            default_locale=settings.default_locale,
            clock=clock,
            on_replies=self.outbox.wake,
            policy=settings.policy,
            channels=self.channels,
        )
        # Webhook mode: the events the web app stored, processed in this process.
        self.intake = Intake(self.sessions, self.channels, self.dispatcher, clock=clock)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    def add_configured_channels(self, *, webhook: bool = False) -> list[str]:
        """Telegram when DOITHOAI_TELEGRAM_TOKEN is set (its updates by webhook with `webhook`,
        else fetched once started by polling), Zalo when it is configured (its events come by
        webhook only; its deliveries go out either way). Returns their names."""
        settings = self.settings
        if settings.telegram_token is not None:
            from bot.channels.telegram import TelegramChannel

            secret = settings.webhook_secret  # what the web app's `verify` asks of a post
            self.telegram = TelegramChannel(
                token=settings.telegram_token.get_secret_value(),
                api_url=settings.telegram_api_url,
                dispatch=self.dispatcher.dispatch,
                default_locale=settings.default_locale,
                rate=settings.telegram_rate,
                spacing=timedelta(seconds=settings.telegram_chat_interval),
                webhook=webhook,
                webhook_secret=secret.get_secret_value() if secret else "",
            )
            self.add_channel(self.telegram)
        if settings.zalo_enabled:
            from bot.channels.zalo import ZaloChannel

            self.zalo = ZaloChannel(
                settings=settings,
                sessions=self.sessions,
                sealer=self.dispatcher.sealer,
                clock=self.clock,
            )
            self.add_channel(self.zalo)
        return [c.name for c in (self.telegram, self.zalo) if c is not None]

    async def start_sending(self) -> None:
        """Ready the configured channels to send, without receiving anything (`dialogue invite`)."""
        if self.telegram is not None:
            await self.telegram.application.initialize()
            self._sending = True

    async def deliver_all(self) -> int:
        """Send what is due on every channel until nothing more is due now; how many went.
        Zalo first: a message its window stops is copied to the household's other chat (e.g.
        Telegram), drained after."""
        sent = 0
        for name in sorted(self.channels, key=lambda name: name != "zalo"):
            sent += await self.outbox.drain(name)
        return sent

    def ticker(self, *, on_messages: Callable[[], None] | None = None) -> Ticker:
        """The clock of this process, with the settings' zone, language, policy and retention."""
        from bot.clock import Ticker

        return Ticker(
            self.sessions,
            clock=self.clock,
            zone=self.settings.zone,
            default_locale=self.settings.default_locale,
            on_messages=on_messages or self.outbox.wake,
            policy=self.settings.policy,
            retention=timedelta(days=self.settings.retention_days),
        )

    async def check_schema(self) -> None:
        await require_current_schema(self.engine, self.settings.database_url)

    async def close(self) -> None:
        """Let go of what the configured channels hold (a Telegram only readied to send is shut
        down; one started is stopped by its command), then of the database."""
        try:
            if self._sending and self.telegram is not None:
                await self.telegram.application.shutdown()
            if self.zalo is not None:
                await self.zalo.close()
        finally:
            await self.engine.dispose()
