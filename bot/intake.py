"""The intake worker: processes the webhook events the web app stored, in every process.

The webhook only stores an event and answers; this worker claims stored events (a lease, so
that an event whose process died is taken over by another), turns each into an Incoming on its
channel, dispatches it, and deletes it. The dispatcher's processed-update key makes this
once-only, across replays, retries and processes. A worker processes its events one at a time
in the order they arrived, so that one person's messages are taken in the order they were
written; it claims the oldest BATCH at once, so a burst stays with one worker (two processes
may still take two of a person's events at the same instant, which people do not type).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dispatcher import Dispatcher
from storage import intake as events

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # far longer than an event takes; then another process may try
MAX_ATTEMPTS = 5
BATCH = 20
RETRY_BACKOFF = timedelta(seconds=2)  # times the attempts made


class Intake:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Any],
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        """`channels` is the runtime's: events are taken only for the channels this process
        has (a Telegram-only process leaves Zalo's to a process that has Zalo)."""
        self.sessions = sessions
        self.channels = channels
        self.dispatcher = dispatcher
        self.clock = clock
        self.lease = lease
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """An event was just stored here: process it now rather than at the next poll."""
        self._wake.set()

    async def run(self, *, every: float = 1.0) -> None:
        """Process for ever: whenever woken, and at least every `every` seconds, which is how
        events stored by another process (one that died, say) are found."""
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except Exception as exc:
                log.warning("intake: claiming failed (%s); trying again shortly", _name(exc))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=every)
            except TimeoutError:
                pass

    async def drain(self) -> int:
        """Process what is waiting until nothing is; return how many events were processed."""
        done = 0
        while True:
            batch = await self._claim()
            if not batch:
                return done
            for event in batch:
                if await self._process(event):
                    done += 1

    async def _claim(self) -> list[events.Claimed]:
        channels = [name for name in ("telegram", "zalo") if name in self.channels]
        if not channels:
            return []
        async with self.sessions() as session, session.begin():
            claimed, dropped = await events.claim(
                session,
                channels=channels,
                now=self.clock(),
                lease=self.lease,
                limit=BATCH,
                max_attempts=self.max_attempts,
            )
        for event_id in dropped:
            log.error("incoming event %d dropped after %d attempts", event_id, self.max_attempts)
        return claimed

    async def _process(self, event: events.Claimed) -> bool:
        try:
            await self._handle(event)
        except Exception as exc:
            # The type only: a message may quote the event, and the event holds a person's text.
            log.warning(
                "incoming event %d failed (attempt %d of %d): %s",
                event.id,
                event.attempts,
                self.max_attempts,
                _name(exc),
            )
            try:
                async with self.sessions() as session, session.begin():
                    if event.attempts >= self.max_attempts:
                        await events.finish(session, event_id=event.id)
                        log.error(
                            "incoming event %d dropped after %d attempts",
                            event.id,
                            event.attempts,
                        )
                    else:
                        at = self.clock() + RETRY_BACKOFF * event.attempts
                        await events.retry_later(session, event_id=event.id, at=at)
            except Exception as inner:
                # Its lease will run out and it will be claimed again.
                log.warning("incoming event %d not released: %s", event.id, _name(inner))
            return False
        async with self.sessions() as session, session.begin():
            await events.finish(session, event_id=event.id)
        return True

    async def _handle(self, event: events.Claimed) -> None:
        channel = self.channels[event.channel]
        if event.channel == "telegram":
            update = channel.update_from_json(json.loads(event.body))
            if update is not None:
                await channel.process(update)  # dispatches, then answers a button press
            return
        incoming = await channel.parse(event.body)
        if incoming is not None:
            await self.dispatcher.dispatch(incoming)


def _name(exc: BaseException) -> str:
    return type(exc).__name__
