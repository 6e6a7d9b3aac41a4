"""Durable delivery: claim due rows within the shared budget, send each at its slot, record it.

Claiming commits rows as "claimed" with a slot; each row is committed as "sending" just before
its HTTP call, so a crash can never make a message go twice: a row cut off mid-call is found
later with an expired lease and becomes "unknown"; one that was only claimed goes back to
pending. Throttles wait as long as the platform asked, never less; an unreachable person is
marked so and nothing more is sent to them. A message the platform's window stops (Zalo: the
person has not written lately) is recorded as "window" and goes to the household's chat on
another channel, once; without one it stays undelivered, for the ward's printed list and the
digest.
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
from storage.links import other_channel

log = logging.getLogger(__name__)

RETRY_BACKOFF = timedelta(seconds=5)
MAX_IN_FLIGHT = 64
CLAIM_BATCH = 4 * MAX_IN_FLIGHT  # rows claimed at once: a second's worth at 256/s


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
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._pace_locks: dict[str, asyncio.Lock] = {}  # one per channel
        self._next_send: dict[str, float] = {}  # last send by channel, on the loop's clock
        self._last_to: dict[Address, float] = {}  # last send to each person, same clock

    def wake(self) -> None:
        self._wake.set()

    async def drain(self, channel: str) -> int:
        """Send what is due on one channel until nothing more is due; return how many went.

        Memory stays flat whatever the size of the broadcast: rows are claimed a batch at a
        time, and each delivery task is forgotten as soon as it is done.
        """
        sent = 0
        tasks: set[asyncio.Task[int]] = set()

        def finished(task: asyncio.Task[int]) -> None:
            nonlocal sent
            tasks.discard(task)
            if not task.cancelled() and task.exception() is None:
                sent += task.result()

        try:
            while True:
                batch = await self._claim(channel)
                for message in batch:
                    await self._in_flight.acquire()
                    task = asyncio.create_task(self._deliver_at_slot(message))
                    tasks.add(task)
                    task.add_done_callback(finished)
                if batch:
                    # Come back when this batch's slots are nearly used up.
                    await self._sleep_until(batch[-1].send_at - timedelta(milliseconds=200))
                    continue
                if not tasks:
                    return sent
                await asyncio.wait(set(tasks), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Stopping: what is claimed and not yet sending goes back when its lease ends.
            for task in tasks:
                task.cancel()
            raise
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim(self, channel: str) -> list[rows.Claimed]:
        platform = self.channels[channel]
        async with self.sessions() as session, session.begin():
            now = self.clock()
            await rows.expire_leases(session, now=now)
            return await rows.claim_due(
                session,
                channel=channel,
                now=now,
                rate=platform.rate,
                spacing=platform.spacing,
                limit=CLAIM_BATCH,
            )

    async def _sleep_until(self, instant: datetime) -> None:
        delay = (instant - self.clock()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _deliver_at_slot(self, message: rows.Claimed) -> int:
        try:
            await self._sleep_until(message.send_at)
            return await self._deliver(message)
        finally:
            self._in_flight.release()

    async def _pace(self, channel: str) -> None:
        """Never two sends closer than 1/rate in this process, measured when they go.

        Slots are already that far apart; but a process that stalled (a long pause, a starved
        machine) wakes with every overdue slot due at once, and must catch up at the rate
        rather than in a burst over the platform's limit. The wait is taken holding the lock
        and measured from when the previous send actually went, so that a stall of the event
        loop during the wait cannot release several sends together.
        """
        loop = asyncio.get_running_loop()
        interval = 1 / self.channels[channel].rate
        lock = self._pace_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._next_send.get(channel)
            if last is not None and loop.time() < last + interval:
                await asyncio.sleep(last + interval - loop.time())
            self._next_send[channel] = loop.time()

    async def _space(self, address: Address, spacing: timedelta) -> None:
        """Never two sends to one person closer than the channel's spacing, in this process.

        The slots already keep them apart; but a send that waited behind a stall (the pace
        above, a slow transaction) leaves less than the spacing before the person's next slot.
        """
        loop = asyncio.get_running_loop()
        # A twentieth more: requests take a few milliseconds more or less to arrive.
        gap, now = spacing.total_seconds() * 1.05, loop.time()
        last = self._last_to.get(address)
        at = now if last is None else max(now, last + gap)
        self._last_to[address] = at  # reserved before sleeping: a third send queues behind
        if at > now:
            await asyncio.sleep(at - now)
        if len(self._last_to) > 4096:
            # Keep memory flat over a province-wide broadcast: forget who is past their gap.
            horizon = loop.time() - gap
            self._last_to = {a: t for a, t in self._last_to.items() if t > horizon}

    async def _deliver(self, message: rows.Claimed) -> int:
        async with self.sessions() as session, session.begin():
            if not await rows.mark_sending(session, message=message, now=self.clock()):
                return 0  # the lease ran out and the row went back to pending: not ours now
        channel = self.channels[message.channel]
        address = Address(message.channel, message.recipient)
        await self._space(address, channel.spacing)
        # Paced last, just before the request: the transaction above takes a varying time,
        # and requests paced before it could still arrive bunched.
        await self._pace(message.channel)
        # The person's gap counts from when this send really goes, after the pace's wait.
        self._last_to[address] = max(
            self._last_to.get(address, 0.0), asyncio.get_running_loop().time()
        )
        try:
            delivery = await channel.send(address, Reply.from_json(message.body))
        except Exception as exc:  # a bug in a channel must not leave the row "sending" for ever
            log.exception("outbox message %s: channel raised", message.id)
            delivery = Delivery(SendResult.UNKNOWN, reason=f"channel raised {type(exc).__name__}")
        return await self._record(message, delivery)

    async def _record(self, message: rows.Claimed, delivery: Delivery) -> int:
        result, reason = delivery.result, delivery.reason
        rerouted = ""  # the channel a copy went to, for a message the window stopped
        async with self.sessions() as session, session.begin():
            now = self.clock()
            if result is SendResult.SENT:
                await rows.mark_sent(session, message_id=message.id, now=now)
                return 1
            if result is SendResult.THROTTLED:
                # Never earlier than the platform said; a second more for clock skew.
                wait = timedelta(seconds=delivery.retry_after + 1)
                await rows.mark_retry(
                    session, message_id=message.id, not_before=now + wait, reason=reason
                )
            elif result is SendResult.RETRY:
                await rows.mark_retry(
                    session, message_id=message.id, not_before=now + RETRY_BACKOFF, reason=reason
                )
            elif result is SendResult.UNREACHABLE:
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
            elif result is SendResult.WINDOW:
                # The copy is written before the row's body is dropped, in one transaction.
                rerouted = await self._deliver_another_way(session, message, now)
                await rows.mark_window(session, message_id=message.id, reason=reason)
            elif result is SendResult.FAILED:
                await rows.mark_failed(session, message_id=message.id, reason=reason)
            else:
                await rows.mark_unknown(session, message_id=message.id, reason=reason)
        if rerouted:
            log.info("outbox message %s: window; a copy goes via %s", message.id, rerouted)
            self.wake()
            return 0
        log.warning("outbox message %s: %s (%s)", message.id, result, reason)
        return 0

    async def _deliver_another_way(
        self, session: AsyncSession, message: rows.Claimed, now: datetime
    ) -> str:
        """Enqueue the message to the recipient's household's chat on another channel this
        outbox sends on; the name of that channel, or "" if there is none."""
        others = [name for name in self.channels if name != message.channel]
        if not others:
            return ""
        chat = await other_channel(
            session, channel=message.channel, user_id=message.recipient, channels=others
        )
        if chat is None:
            return ""
        channel, recipient = chat
        added = await rows.deliver_another_way(
            session, message=message, channel=channel, recipient=recipient, now=now
        )
        return channel if added else ""

    async def run(self, *, idle: float = 1.0) -> None:
        """Deliver for ever: whenever woken by new messages, and at least every `idle` seconds."""
        while True:
            self._wake.clear()
            for name in list(self.channels):  # a channel may be added meanwhile
                try:
                    await self.drain(name)
                except Exception:
                    log.exception("outbox drain on %s failed; trying again shortly", name)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle)
            except TimeoutError:
                pass
