"""The service put together: engine, sessions, dispatcher, outbox, intake and channels, for one
process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.anonymity import Sealer
from bot.channels import Channel
from bot.config import Settings, require
from bot.dispatcher import Dispatcher, utcnow
from bot.intake import Intake
from bot.outbox import Outbox
from storage.db import create_engine, require_current_schema, session_factory


class Runtime:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow):
        require(settings, "secret_key")
        assert settings.secret_key is not None
        self.settings = settings
        self.clock = clock
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.channels: dict[str, Channel] = {}
        self.outbox = Outbox(self.sessions, self.channels, clock=clock)
        self.dispatcher = Dispatcher(
            self.sessions,
            sealer=Sealer(settings.secret_key.get_secret_value()),
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

    async def check_schema(self) -> None:
        await require_current_schema(self.engine, self.settings.database_url)

    async def close(self) -> None:
        await self.engine.dispose()
