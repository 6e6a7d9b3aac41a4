"""One update -> one transaction: dedupe, conversation state, handler, replies to the outbox.

The processed-update key is inserted in the same transaction as the handler's effects and its
outgoing messages, so an update redelivered after a crash (or to a second process) changes
nothing twice. Replies are written to the outbox before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.anonymity import Sealer
from bot.config import Policy
from bot.i18n import Translator, choose
from bot.messages import Incoming, Outcome, Reply, merge
from handlers.context import Context
from handlers.router import route
from storage.accounts import find_account
from storage.conversations import State, load_state, save_state
from storage.links import touch
from storage.models import Account
from storage.outbox import PRIORITY_REPLY, enqueue
from storage.updates import already_processed, record_processed

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        sealer: Sealer,
        zone: ZoneInfo,
        default_locale: str,
        clock: Callable[[], datetime] = utcnow,
        on_replies: Callable[[], None] = lambda: None,
        policy: Policy | None = None,
    ):
        self.policy = policy or Policy()
        self.sessions = sessions
        self.sealer = sealer
        self.zone = zone
        self.default_locale = default_locale
        self.clock = clock
        self.on_replies = on_replies  # wakes the outbox once replies are committed

    async def dispatch(self, incoming: Incoming) -> Outcome:
        try:
            outcome = await self._process(incoming)
        except IntegrityError:
            # A twin of this update committed first (another process, a redelivery).
            return Outcome(duplicate=True)
        except Exception:
            # One handler for all failures: the person gets an apology, the log the context
            # (never the text nor the address), and the update is not retried forever.
            log.exception("update %s:%s failed", incoming.address.channel, incoming.key)
            outcome = await self._apologise(incoming)
        if outcome.replies:
            self.on_replies()
        return outcome

    async def _process(self, incoming: Incoming) -> Outcome:
        address = incoming.address
        now = self.clock()
        async with self.sessions() as session, session.begin():
            first, account = await self._claim(session, incoming, now)
            if not first:
                return Outcome(duplicate=True)
            if account is not None:
                if account.unreachable_at is not None:
                    account.unreachable_at = None  # they wrote to us: reachable again
                # The household's messages go to the chat it used last.
                await touch(session, channel=address.channel, user_id=address.user_id, at=now)
            state = (
                await load_state(session, channel=address.channel, user_id=address.user_id)
                if account is not None
                else State()
            )
            locale = choose(account.locale if account else None, self.default_locale)
            ctx = Context(
                session=session,
                incoming=incoming,
                account=account,
                state=state,
                t=Translator(locale, self.zone),
                now=now,
                sealer=self.sealer,
                default_locale=self.default_locale,
                policy=self.policy,
            )
            await route(ctx)
            if ctx.account is not None:
                await save_state(
                    session, channel=address.channel, user_id=address.user_id, state=ctx.state
                )
            replies = merge(ctx.replies)
            await self._enqueue(session, incoming, replies, now)
            return Outcome(replies=replies, notice=ctx.notice)

    async def _apologise(self, incoming: Incoming) -> Outcome:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            first, account = await self._claim(session, incoming, now)
            if not first:
                return Outcome(duplicate=True)
            t = Translator(
                choose(account.locale if account else None, self.default_locale), self.zone
            )
            replies = [
                Reply(
                    t._(
                        "Sorry, something went wrong on our side. Nothing you wrote is lost: "
                        "please try again in a moment."
                    )
                )
            ]
            await self._enqueue(session, incoming, replies, now)
            return Outcome(replies=replies, notice=t._("Please try again."))

    @staticmethod
    async def _claim(
        session: AsyncSession, incoming: Incoming, now: datetime
    ) -> tuple[bool, Account | None]:
        """Record the update's key (False if it was already processed) and find its sender."""
        address = incoming.address
        if await already_processed(session, channel=address.channel, key=incoming.key):
            return False, None
        await record_processed(session, channel=address.channel, key=incoming.key, at=now)
        account = await find_account(session, channel=address.channel, user_id=address.user_id)
        return True, account

    @staticmethod
    async def _enqueue(
        session: AsyncSession, incoming: Incoming, replies: list[Reply], now: datetime
    ) -> None:
        address = incoming.address
        for number, reply in enumerate(replies):
            await enqueue(
                session,
                key=f"reply:{address.channel}:{incoming.key}:{number}",
                channel=address.channel,
                recipient=address.user_id,
                body=reply.to_json(),
                now=now,
                priority=PRIORITY_REPLY,
            )
