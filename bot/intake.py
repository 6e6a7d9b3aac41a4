"""Taking updates in: different people's at once, one person's strictly in order.

Both modes run the dispatcher through `Mailboxes` (bot/mailboxes.py): polling puts each
update in its sender's mailbox as Telegram hands them over; webhook mode's worker (`Intake`)
puts the events the web app stored.

The webhook only stores an event and answers; the worker claims stored events (a lease, so
that an event whose process died is taken over by another), turns each into an Incoming with
its channel's `parse` and `complete` (the same for every channel) and dispatches it; the event row is deleted in the dispatcher's own transaction. The
dispatcher's processed-update key makes this once-only, across replays, retries and processes.
Only a person's oldest stored event is claimable, so their events are processed in the order
they came even with several processes behind the webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.core.messages import Channel
from bot.dispatcher import Dispatcher
from bot.mailboxes import Mailboxes
from storage import intake as events

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # far longer than an event takes; then another process may try
MAX_ATTEMPTS = 5
BATCH = 64
RETRY_BACKOFF = timedelta(seconds=2)  # times the attempts made
Job = Callable[[], Awaitable[None]]


class Intake:
    """Webhook mode's worker: the stored events of the channels this process has."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        mailboxes: Mailboxes | None = None,
    ):
        """`channels` is the runtime's: events are taken only for the channels this process
        has (a Telegram-only process leaves Zalo's to a process that has Zalo)."""
        self.sessions = sessions
        self.channels = channels
        self.dispatcher = dispatcher
        self.clock = clock
        self.lease = lease
        self.max_attempts = max_attempts
        self.mailboxes = mailboxes or Mailboxes()
        self._wake = asyncio.Event()
        self._done = 0

    def wake(self) -> None:
        """An event was just stored here: process it now rather than at the next poll."""
        self._wake.set()

    async def run(self, *, every: float = 1.0) -> None:
        """Process for ever: whenever woken, and at least every `every` seconds, which is how
        events stored by another process (one that died, say) are found."""
        try:
            while True:
                self._wake.clear()
                try:
                    await self._take()
                except Exception as exc:
                    log.warning("intake: claiming failed (%s); trying again shortly", _name(exc))
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=every)
                except TimeoutError:
                    pass
        finally:
            await self.mailboxes.close()

    async def drain(self) -> int:
        """Process what is waiting until nothing is; return how many events were processed."""
        before = self._done
        while await self._take():
            await self.mailboxes.join()
        await self.mailboxes.join()
        return self._done - before

    async def _take(self) -> int:
        """Claim what may be processed now and put it in the mailboxes; how many."""
        taken = 0
        while True:
            await self.mailboxes.room()
            batch = await self._claim()
            for event in batch:
                self.mailboxes.put(event.sender or event.id, self._job(event))
            taken += len(batch)
            if len(batch) < BATCH:
                return taken

    async def _claim(self) -> list[events.Claimed]:
        channels = list(self.channels)
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

    def _job(self, event: events.Claimed) -> Job:
        async def job() -> None:
            if await self._process(event):
                self._done += 1
            self.wake()  # the person's next event, if any, may be claimed now

        return job

    async def _process(self, event: events.Claimed) -> bool:
        if event.received_at is not None:
            lag = (self.clock() - event.received_at).total_seconds()
            metrics.INTAKE_LAG.labels(event.channel).observe(max(0.0, lag))
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
            await self._after_failure(event)
            return False
        return True

    async def _handle(self, event: events.Claimed) -> None:
        async def finish(session: AsyncSession) -> None:
            await events.finish(session, event_id=event.id)

        channel = self.channels[event.channel]
        incoming = channel.parse(event.body)
        if incoming is not None:
            incoming = await channel.complete(incoming)
        if incoming is None:
            async with self.sessions() as session, session.begin():
                await finish(session)
            return
        await self.dispatcher.dispatch(incoming, also=finish)

    async def _after_failure(self, event: events.Claimed) -> None:
        try:
            async with self.sessions() as session, session.begin():
                if event.attempts >= self.max_attempts:
                    await events.finish(session, event_id=event.id)
                    log.error(
                        "incoming event %d dropped after %d attempts", event.id, event.attempts
                    )
                else:
                    at = self.clock() + RETRY_BACKOFF * event.attempts
                    await events.retry_later(session, event_id=event.id, at=at)
        except Exception as inner:
            # Its lease will run out and it will be claimed again.
            log.warning("incoming event %d not released: %s", event.id, _name(inner))


def _name(exc: BaseException) -> str:
    return type(exc).__name__
