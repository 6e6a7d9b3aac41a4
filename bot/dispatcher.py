"""One update -> one transaction: dedupe, conversation state, handler, replies to the outbox.

The processed-update key is inserted in the same transaction as the handler's effects and its
outgoing messages, so an update redelivered after a crash (or to a second process) changes
nothing twice. Replies are written to the outbox before anything is sent.

The fixed cost of an update is a handful of statements: the key (one INSERT that also says
whether it is new), the person (account, conversation and household link in one SELECT), the
household's last-used chat (one UPDATE, linked chats only), the state when it changed, and the
replies (one multi-row INSERT).

On a channel whose buttons send back text (Zalo: a button's label, or the number of an
option), a text that picks one of the choices last shown is taken as that button, and the
choices the replies show are kept, sealed, in the conversation row in the same transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.core.anonymity import Sealer
from bot.core.clock import Now, utcnow
from bot.core.config import Policy
from bot.core.i18n import Translator, choose
from bot.core.messages import (
    DATA_LIMIT,
    Channel,
    Incoming,
    Kind,
    Outcome,
    Reply,
    Shown,
    cleaned,
    merge,
)
from handlers.context import Context
from handlers.router import route
from storage.accounts import mark_unreachable
from storage.conversations import Person, State, keep_choices, load_choices, load_person, save_state
from storage.links import touch
from storage.models import Account
from storage.outbox import PRIORITY_REPLY, Outgoing, enqueue_many
from storage.personal_data import note_unconsented
from storage.updates import claim_update

log = logging.getLogger(__name__)

# Work to do in the update's own transaction (the webhook's stored event is deleted there).
Also = Callable[[AsyncSession], Awaitable[None]]


def picked(incoming: Incoming, sealed: bytes | None, sealer: Sealer) -> Incoming:
    """A text as the press of the button it picks among the choices `sealed` (the last shown
    to the person), or as it is."""
    if incoming.kind is not Kind.TEXT or not sealed:
        return incoming
    shown = sealer.open_choices(incoming.address.user_id, sealed)
    data = Shown.from_json(shown).pick(incoming.text) if shown is not None else None
    if data is None:
        return incoming
    return dataclasses.replace(incoming, kind=Kind.BUTTON, data=data[:DATA_LIMIT], text="")


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        sealer: Sealer,
        zone: ZoneInfo,
        default_locale: str,
        clock: Now = utcnow,
        on_replies: Callable[[], None] = lambda: None,
        policy: Policy | None = None,
        channels: Mapping[str, Channel] | None = None,
    ):
        """`channels` is the runtime's (filled as channels are added): asked which choices a
        reply shows on channels whose buttons send back text."""
        self.policy = policy or Policy()
        self.channels = channels if channels is not None else {}
        self.sessions = sessions
        self.sealer = sealer
        self.zone = zone
        self.default_locale = default_locale
        self.clock = clock
        self.on_replies = on_replies  # wakes the outbox once replies are committed

    async def dispatch(self, incoming: Incoming, *, also: Also | None = None) -> Outcome:
        incoming = cleaned(incoming)  # the one place a person's text is normalised
        channel = incoming.address.channel
        started = time.perf_counter()
        try:
            outcome = await self._process(incoming, also)
        except IntegrityError:
            # A twin of this update committed first (another process, a redelivery).
            outcome = Outcome(duplicate=True)
        except Exception:
            # One handler for all failures: the person gets an apology, the log the context
            # (never the text nor the address), and the update is not retried forever.
            log.exception("update %s:%s failed", channel, incoming.key)
            metrics.UPDATES.labels(channel, "failed").inc()
            outcome = await self._apologise(incoming, also)
        else:
            metrics.UPDATES.labels(channel, "duplicate" if outcome.duplicate else "processed").inc()
        metrics.UPDATE_SECONDS.labels(channel).observe(time.perf_counter() - started)
        if outcome.replies:
            self.on_replies()
        return outcome

    async def _process(self, incoming: Incoming, also: Also | None) -> Outcome:
        address = incoming.address
        now = self.clock()
        async with self.sessions() as session, session.begin():
            if also is not None:
                await also(session)
            if not await claim_update(session, channel=address.channel, key=incoming.key, at=now):
                return Outcome(duplicate=True)
            if incoming.kind is Kind.UNFOLLOW:
                # Nothing is answered; they become reachable again when they write.
                await mark_unreachable(
                    session, channel=address.channel, user_id=address.user_id, at=now
                )
                return Outcome()
            person = await load_person(session, channel=address.channel, user_id=address.user_id)
            incoming = await self._picked(session, incoming, person)
            ctx = await self._handle(session, incoming, person, now)
            replies = merge(ctx.replies)
            if not replies and ctx.notice:
                # Button presses are acknowledged before this transaction: a notice the
                # handler had for the press is said in the chat instead.
                replies = [Reply(ctx.notice)]
            await self._keep_shown(session, incoming, replies)
            await self._enqueue(session, incoming, replies, now)
            return Outcome(replies=replies, notice=ctx.notice)

    async def _handle(
        self, session: AsyncSession, incoming: Incoming, person: Person, now: datetime
    ) -> Context:
        """The person's state, the handler, and the state as the handler left it."""
        address = incoming.address
        account = person.account
        if account is not None and account.unreachable_at is not None:
            account.unreachable_at = None  # they wrote to us: reachable again
        if account is not None and incoming.display_name and not account.display_name:
            account.display_name = incoming.display_name  # the platform told us their name
        if person.linked:
            # The household's messages go to the chat it used last.
            await touch(session, channel=address.channel, user_id=address.user_id, at=now)
        ctx = self._context(session, incoming, account, now)
        ctx.state = person.state
        await route(ctx)
        if ctx.account is not None:
            await save_state(
                session,
                channel=address.channel,
                user_id=address.user_id,
                state=ctx.state,
                row=person.conversation,
                loaded=account is not None,
            )
        if ctx.account is None:
            # Answered without a consent in force: its address is forgotten later.
            await note_unconsented(
                session, channel=address.channel, user_id=address.user_id, now=now
            )
        return ctx

    def _text_choices(self, incoming: Incoming) -> Channel | None:
        """The update's channel, if its buttons send back text."""
        channel = self.channels.get(incoming.address.channel)
        # getattr: a channel made for a test may leave it out
        return channel if channel is not None and getattr(channel, "text_choices", False) else None

    async def _picked(self, session: AsyncSession, incoming: Incoming, person: Person) -> Incoming:
        """A text that picks one of the choices last shown, as the press of that button."""
        if incoming.kind is not Kind.TEXT or self._text_choices(incoming) is None:
            return incoming
        address = incoming.address
        if person.conversation is not None:
            sealed = person.conversation.sealed_choices
        elif person.account is None:
            sealed = await load_choices(session, channel=address.channel, user_id=address.user_id)
        else:
            sealed = None
        return picked(incoming, sealed, self.sealer)

    async def _keep_shown(
        self, session: AsyncSession, incoming: Incoming, replies: list[Reply]
    ) -> None:
        """The choices the last of these replies that has some shows, kept sealed with the
        conversation (a channel whose buttons send back text)."""
        channel = self._text_choices(incoming)
        if channel is None:
            return
        for reply in reversed(replies):
            shown = channel.shown(reply) if reply.buttons else None
            if shown is not None:
                user_id = incoming.address.user_id
                await keep_choices(
                    session,
                    channel=incoming.address.channel,
                    user_id=user_id,
                    sealed=self.sealer.seal_choices(user_id, shown.to_json()),
                )
                return

    def _context(
        self, session: AsyncSession, incoming: Incoming, account: Account | None, now: datetime
    ) -> Context:
        locale = choose(account.locale if account else None, self.default_locale)
        return Context(
            session=session,
            incoming=incoming,
            account=account,
            state=State(),
            t=Translator(locale, self.zone),
            now=now,
            sealer=self.sealer,
            default_locale=self.default_locale,
            policy=self.policy,
        )

    async def _apologise(self, incoming: Incoming, also: Also | None) -> Outcome:
        now = self.clock()
        address = incoming.address
        async with self.sessions() as session, session.begin():
            if also is not None:
                await also(session)
            if not await claim_update(session, channel=address.channel, key=incoming.key, at=now):
                return Outcome(duplicate=True)
            person = await load_person(session, channel=address.channel, user_id=address.user_id)
            account = person.account
            if account is None:
                await note_unconsented(
                    session, channel=address.channel, user_id=address.user_id, now=now
                )
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
    async def _enqueue(
        session: AsyncSession, incoming: Incoming, replies: list[Reply], now: datetime
    ) -> None:
        address = incoming.address
        await enqueue_many(
            session,
            messages=[
                Outgoing(
                    key=f"reply:{address.channel}:{incoming.key}:{number}",
                    channel=address.channel,
                    recipient=address.user_id,
                    body=reply.to_json(),
                    priority=PRIORITY_REPLY,
                )
                for number, reply in enumerate(replies)
            ],
            now=now,
        )
