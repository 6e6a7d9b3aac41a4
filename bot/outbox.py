"""Durable delivery: claim due rows, send them through their channel, record each outcome.

Claiming commits the rows as "sending" before any HTTP call, so a crash can never make a
message go twice: a row cut off mid-call is found later with an expired lease and becomes
"unknown". Throttles wait as long as the platform asked, never less; an unreachable person is
marked so and nothing more is sent to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import Channel
from bot.messages import Address, Delivery, Reply, SendResult
from storage import outbox as rows
from storage.accounts import mark_unreachable

log = logging.getLogger(__name__)

RETRY_BACKOFF = timedelta(seconds=5)


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        *,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def drain(self, channel: str, *, limit: int = 20) -> int:
        """Send what is due on one channel, in batches, until nothing is due; return how many went."""
        sent = 0
        while True:
            async with self.sessions() as session, session.begin():
                await rows.expire_leases(session, now=self.clock())
                batch = await rows.claim_due(
                    session, channel=channel, now=self.clock(), limit=limit
                )
            if not batch:
                return sent
            for message in batch:
                sent += await self._deliver(message)

    async def _deliver(self, message: rows.Claimed) -> int:
        channel = self.channels[message.channel]
        address = Address(message.channel, message.recipient)
        try:
            delivery = await channel.send(address, Reply.from_json(message.body))
        except Exception as exc:  # a bug in a channel must not leave the row "sending" for ever
            log.exception("outbox message %s: channel raised", message.id)
            delivery = Delivery(SendResult.UNKNOWN, reason=f"channel raised {type(exc).__name__}")
        delivery_result, reason = delivery.result, delivery.reason
        now = self.clock()
        async with self.sessions() as session, session.begin():
            if delivery_result is SendResult.SENT:
                await rows.mark_sent(session, message_id=message.id, now=now)
                return 1
            if delivery_result is SendResult.THROTTLED:
                # Never earlier than the platform said; a second more for clock skew.
                wait = timedelta(seconds=delivery.retry_after + 1)
                await rows.mark_retry(
                    session, message_id=message.id, not_before=now + wait, reason=reason
                )
            elif delivery_result is SendResult.RETRY:
                await rows.mark_retry(
                    session, message_id=message.id, not_before=now + RETRY_BACKOFF, reason=reason
                )
            elif delivery_result is SendResult.UNREACHABLE:
                await rows.mark_recipient_unreachable(
                    session,
                    channel=message.channel,
                    recipient=message.recipient,
                    message_id=message.id,
                    reason=reason,
                )
                await mark_unreachable(
                    session, channel=message.channel, user_id=message.recipient, at=now
                )
            elif delivery_result is SendResult.FAILED:
                await rows.mark_failed(session, message_id=message.id, reason=reason)
            else:
                await rows.mark_unknown(session, message_id=message.id, reason=reason)
            log.warning("outbox message %s: %s (%s)", message.id, delivery_result, reason)
        return 0

    async def run(self, *, idle: float = 1.0) -> None:
        """Deliver for ever: whenever woken by new replies, and at least every `idle` seconds."""
        while True:
            self._wake.clear()
            for name in self.channels:
                try:
                    await self.drain(name)
                except Exception:
                    log.exception("outbox drain on %s failed; trying again shortly", name)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle)
            except TimeoutError:
                pass
