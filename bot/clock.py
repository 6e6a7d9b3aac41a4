"""Time kept by the database: each tick runs idempotent SQL, whichever process runs it.

APScheduler is used only as an in-memory clock that calls `tick` every few seconds: its job
stores must not be shared between processes (its own FAQ), and its default misfire grace of
one second silently drops late jobs. What is due lives in the database as rows with unique
keys (reminders, outbox leases), claimed by the tick that gets there first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.config import Policy
from bot.services import Notifier
from bot.services.closing import Closing
from bot.services.digest import Digests
from bot.services.invitations import Invitations
from storage import heartbeats, links, outbox, personal_data, reminders

log = logging.getLogger(__name__)

TICK = timedelta(seconds=15)
PRUNE_BATCH = 2000
PRUNE_ROUNDS = 5


class Ticker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
        default_locale: str,
        on_messages: Callable[[], None] = lambda: None,
        policy: Policy | None = None,
        retention: timedelta = timedelta(days=30),
    ):
        self.policy = policy or Policy()
        self.sessions = sessions
        self.clock = clock
        self.zone = zone
        self.default_locale = default_locale
        self.on_messages = on_messages
        self.retention = retention
        notifier = Notifier(sealer=None, zone=zone, default_locale=default_locale, clock=clock)
        self.invitations = Invitations(notifier)
        self.closing = Closing(notifier, self.policy)
        self.digests = Digests(notifier, self.policy)
        self._scheduler: AsyncIOScheduler | None = None
        self._running: asyncio.Task[None] | None = None

    async def tick(self) -> int:
        """Fire the reminders that are due, close the dialogues that ended, write the daily
        digests that are due, and recover what dead processes held; return the number of
        messages written."""
        written = 0
        async with self.sessions() as session, session.begin():
            now = self.clock()
            for reminder, dialogue in await reminders.claim_due(session, now=now):
                written += await self.invitations.remind(
                    session, reminder_id=reminder.id, dialogue=dialogue, now=now
                )
            written += await self.closing.close_ended(session, now=now)
            written += await self.digests.send_due(session, now=now)
            written += await self.digests.voice_reminders(session, now=now)
            await outbox.expire_leases(session, now=now)
            await outbox.prune_paces(session, now=now)
            await heartbeats.beat(session, name="clock", now=now)  # for `doithoai doctor`
            # Chats without consent, and wrong-code counts past their window, are forgotten.
            forgotten = await personal_data.forget_unconsented(
                session, now=now, after=self.policy.unconsented
            )
            await links.expire_attempts(session, now=now)
        if forgotten:
            log.info("clock: %d chats without consent forgotten", forgotten)
        await self.prune()
        if written:
            log.info("clock: %d messages queued", written)
            self.on_messages()
        return written

    async def prune(self, *, batch: int = PRUNE_BATCH) -> int:
        """Forget finished replies and processed-update keys older than the retention period,
        a batch per transaction so that no transaction is long, at most PRUNE_ROUNDS a tick."""
        pruned = 0
        for _ in range(PRUNE_ROUNDS):
            async with self.sessions() as session, session.begin():
                done = await outbox.prune(
                    session, before=self.clock() - self.retention, batch=batch
                )
            pruned += done
            if done < batch:
                break
        if pruned:
            log.info("clock: %d old replies and update keys forgotten", pruned)
        return pruned

    async def _safe_tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.tick()
        except asyncio.CancelledError:
            # Stopped (SIGTERM, Ctrl-C) in the middle of a tick: its transaction is rolled
            # back and whichever process ticks next does the work. Nothing to report but this.
            log.info("clock: stopped during a tick; what it had begun was rolled back")
        except Exception:
            log.exception("clock tick failed; the next one will try again")
        finally:
            self._running = None

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=self.zone)
        self._scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=TICK.total_seconds(),
            next_run_time=datetime.now(self.zone),
            misfire_grace_time=None,  # a late tick is still worth running
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop ticking; a tick under way is cancelled (see `stopped` to wait for it)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def stopped(self) -> None:
        """Stop ticking and wait until a tick under way has ended (rolled back), so that the
        database can be closed after it without a traceback."""
        running = self._running
        self.stop()
        if running is not None and running is not asyncio.current_task():
            await asyncio.wait({running}, timeout=10)
