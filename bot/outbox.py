"""Durable delivery: claim due rows with slots of the shared budget, mark them sending just
before their slot, send each at its slot, record the outcomes.

Per channel and per process one lane does the database work in as few transactions as it can
(one transaction records what finished, claims more and marks the next rows "sending") while
the sends themselves run as tasks. What this guarantees, whatever the load:

- **Nothing twice.** A row is committed "sending" only when its slot is at most LEAD away and
  at most WIRE rows are sending at once: a process killed at any moment leaves at most WIRE rows
  whose fate is unknown; they are listed for the organiser and never resent by themselves.
- **The platform's rate in every second, across processes.** Slots come from one budget in the
  database, `rate` of them in every BUDGET_WINDOW (a little over a second). A send goes at a
  slot it holds, never before it, and never more than GRACE after it: a process that stalled
  throws its past slots away and asks for new ones rather than catching up in a burst.
- **Checked when the request really goes** (bot/outbox_window.py), since the platform counts
  arrivals: a send's first request held up more than GRACE past its slot is stopped before its
  first byte, and the row is pending again at once (once: stopped again, a starved process
  would send nothing); and no send goes before the rate-th latest
  of this process's requests on the channel went a DEPARTURE_WINDOW ago, by when the channel
  said its bytes were written.
- **A person's spacing, measured from when a send finished.** A person's next message is
  claimed only once the previous one is recorded and their pace (its end plus the channel's
  spacing) has passed, so however late a request arrives, the next one starts later.
- Throttles wait as long as the platform asked; failures without an answer are retried with a
  capped exponential backoff, then failed; an unreachable person is marked so; a message the
  platform's window stops (Zalo) goes once to the household's chat on another channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.channels import Channel
from bot.core.departure import TooLate, watching
from bot.core.messages import Address, Delivery, Reply, SendResult
from bot.outbox_window import Departures
from storage import outbox as rows
from storage.accounts import mark_unreachable
from storage.db import reading
from storage.links import other_channel

log = logging.getLogger(__name__)

WIRE = 8  # rows "sending" at once per channel in one process: what a kill can leave unknown
# Rows are marked "sending" at most this long before their slot (and at most WIRE at once), a
# few in each transaction; what finished meanwhile is recorded in the same transaction.
LEAD = timedelta(milliseconds=100)
# A slot not taken within this is gone, and a send's first request that would leave later than
# this after its slot is stopped before its first byte.
GRACE = timedelta(milliseconds=20)
# The budget gives `rate` slots in every BUDGET_WINDOW, i.e. BUDGET_WINDOW / rate apart. Its 25 ms
# over the second cost 2.4 % of the rate (0.97 of RATE is asked for; 1/0.965 cost 3.5 %). Between
# processes only the slots count: rate + 1 requests span at least 25 ms - GRACE over a second,
# since none leaves more than GRACE after its slot. In one process the departures count too: the
# 15 ms over DEPARTURE_WINDOW let a request leave that much after its slot (a few ms as a rule,
# 18 at most on a quiet machine) without holding back the one a second later.
BUDGET_WINDOW = timedelta(seconds=1, milliseconds=25)
HORIZON = timedelta(seconds=1)  # how far ahead slots are claimed
CLAIM_BATCH = 256
FINAL = {
    SendResult.SENT: rows.Status.SENT,
    SendResult.FAILED: rows.Status.FAILED,
    SendResult.UNKNOWN: rows.Status.UNKNOWN,
    SendResult.UNREACHABLE: rows.Status.UNREACHABLE,
    SendResult.WINDOW: rows.Status.WINDOW,
}


@dataclass(frozen=True)
class _Result:
    message: rows.Claimed
    delivery: Delivery
    at: datetime  # when the send finished
    stopped: bool = False  # held up past its slot, nothing went: pending again at once


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        *,
        clock: Callable[[], datetime],
        wire: int = WIRE,
    ):
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.wire = wire
        self._lanes: dict[str, _Lane] = {}
        self._woken = asyncio.Event()

    def lane(self, channel: str) -> _Lane:
        if channel not in self._lanes:
            self._lanes[channel] = _Lane(self, channel)
        return self._lanes[channel]

    def wake(self) -> None:
        """New rows were committed: look for them now rather than at the next poll."""
        for lane in self._lanes.values():
            lane.wake()
        self._woken.set()

    async def drain(self, channel: str) -> int:
        """Send what is due on one channel until nothing more is due now; how many went."""
        lane = self.lane(channel)
        lane.wake()  # look, whatever the last claim found
        return await lane.drain()

    async def run(self, *, idle: float = 1.0) -> None:
        """Deliver on every channel for ever: at once when woken, else polling every `idle`
        seconds (cheaply) for what other processes wrote."""
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                for name in list(self.channels):  # a channel may be added meanwhile
                    if name not in running or running[name].done():
                        running[name] = asyncio.create_task(self.lane(name).run(idle=idle))
                self._woken.clear()
                try:
                    await asyncio.wait_for(self._woken.wait(), timeout=idle)
                except TimeoutError:
                    pass
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            for lane in self._lanes.values():
                await lane.release()


class _Lane:
    """Delivery on one channel in this process."""

    def __init__(self, outbox: Outbox, name: str):
        self.outbox = outbox
        self.name = name
        self.claimed: deque[rows.Claimed] = deque()  # not yet marked sending
        self.slots: deque[datetime] = deque()  # slots of the budget this lane holds, in order
        self.results: list[_Result] = []
        self.sending: dict[int, rows.Claimed] = {}  # marked sending, by row id
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.on_wire: set[int] = set()  # rows whose request has started
        self.changed = asyncio.Event()
        self.granted = asyncio.Event()  # set whenever the lane gets slots
        self.exhausted = False  # the last claim found nothing more due
        self.retry_at: datetime | None = None  # when a held-back row may be claimed
        self.sent = 0
        self.taken: deque[tuple[datetime, datetime]] = deque(maxlen=4096)  # (slot, taken at)
        self.departures = Departures(self.channel.rate, clock=self.clock)

    @property
    def channel(self) -> Channel:
        return self.outbox.channels[self.name]

    @property
    def interval(self) -> timedelta:
        return BUDGET_WINDOW / self.channel.rate

    def wake(self) -> None:
        self.exhausted = False
        self.changed.set()

    def clock(self) -> datetime:
        return self.outbox.clock()

    # ------------------------------------------------------------------ the loop

    async def run(self, *, idle: float) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox on %s failed; trying again shortly", self.name)
                self.exhausted = True
            await self._wait(idle)
            if self.exhausted and not await self._nothing_due():
                self.exhausted = False

    async def drain(self) -> int:
        """Work until nothing is due now, nothing is in hand and nothing is sending."""
        before = self.sent
        while True:
            if await self._step():
                continue
            if self.exhausted and not (self.claimed or self.sending or self.results):
                return self.sent - before
            await self._wait(None)

    async def _wait(self, idle: float | None) -> None:
        """Until something changes (a send finished, new rows), the next row can be marked,
        it is time to claim more, or a held-back row is due."""
        now = self.clock()
        instants = []
        waiting = self._waiting()
        if self.claimed and len(self.slots) > waiting and len(self.sending) < self.outbox.wire:
            instants.append(self.slots[waiting] - LEAD)  # the first slot no send waits for
        if self._wants_more():
            instants.append(self.slots[-1] - HORIZON / 2)
        if self.retry_at is not None:
            instants.append(self.retry_at)
        timeout = min([(at - now).total_seconds() for at in instants], default=idle)
        if timeout is not None and timeout <= 0:
            return
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout=timeout)
        except TimeoutError:
            pass

    def _wants_more(self) -> bool:
        """Whether the lane would claim more rows once its last slot is near."""
        return not self.exhausted and len(self.claimed) < CLAIM_BATCH // 2 and bool(self.slots)

    async def _nothing_due(self) -> bool:
        """One cheap read (no lock, no write) before a poll's claim: idle costs nothing."""
        try:
            async with reading(self.outbox.sessions) as session:
                return not await rows.anything_due(session, channel=self.name, now=self.clock())
        except Exception as exc:
            log.warning("outbox on %s: cannot read the database (%s)", self.name, exc)
            return True

    # ------------------------------------------------------------------ one transaction

    async def _step(self) -> bool:
        """Record what finished, claim more, mark the next rows sending: one transaction, if
        any of it is needed now. False if nothing was."""
        now = self.clock()
        self._drop_past_slots(now)
        if self.retry_at is not None and self.retry_at <= now:
            self.retry_at, self.exhausted = None, False
        more = (
            not self.exhausted
            and len(self.claimed) < CLAIM_BATCH // 2
            and (not self.slots or self.slots[-1] <= now + HORIZON / 2)
        )
        missing = len(self.claimed) + self._waiting() - len(self.slots)
        if not (more or missing > 0 or self._markable(now) or self._record_now(now)):
            return False
        results, self.results = self.results, []
        async with self.outbox.sessions() as session, session.begin():
            now = self.clock()
            rerouted = await self._record(session, results, now)
            if missing > 0:
                await self._top_up(session, now, missing)
            elif more:
                await self._claim(session, now)
            due = [self.claimed.popleft() for _ in range(self._markable(now))]
            marked = await rows.mark_sending(session, messages=due, now=now) if due else set()
        if self.slots:
            self.granted.set()
        for result in results:
            self._forget(result.message.id)
        for message in due:  # one not marked lost its claim (a lease ran out): not ours
            if message.id in marked:
                self.sending[message.id] = message
                self.tasks[message.id] = asyncio.create_task(self._send(message))
        if rerouted:
            self.outbox.wake()
        return True

    def _record_now(self, now: datetime) -> bool:
        """Whether what finished should be recorded now rather than with the next marking (one
        transaction for both), which is due within LEAD and the wire has room for."""
        if not self.results:
            return False
        if len(self.results) >= self.outbox.wire // 2 or not self.claimed:
            return True
        if len(self.sending) >= self.outbox.wire:
            return True  # the wire is full: make room
        waiting = self._waiting()
        if len(self.slots) <= waiting:
            return True
        return self.slots[waiting] - LEAD > now + LEAD

    def _forget(self, message_id: int) -> None:
        self.sending.pop(message_id, None)
        self.tasks.pop(message_id, None)
        self.on_wire.discard(message_id)

    def _waiting(self) -> int:
        """Rows marked sending whose request has not started: each will take a slot."""
        return len(self.sending) - len(self.on_wire)

    def _drop_past_slots(self, now: datetime) -> None:
        while self.slots and self.slots[0] < now - GRACE:
            self.slots.popleft()
            metrics.SLOTS_MISSED.labels(self.name).inc()

    def _markable(self, now: datetime) -> int:
        """How many claimed rows may be marked sending now: one per slot within LEAD that no
        sending row is waiting for, within the wire's room."""
        soon = sum(1 for slot in self.slots if slot <= now + LEAD)
        room = self.outbox.wire - len(self.sending)
        return max(0, min(len(self.claimed), soon - self._waiting(), room))

    async def _claim(self, session: AsyncSession, now: datetime) -> None:
        claim = await rows.claim_due(
            session,
            channel=self.name,
            now=now,
            interval=self.interval,
            limit=CLAIM_BATCH - len(self.claimed),
            horizon=HORIZON,
        )
        self.claimed.extend(claim.messages)
        self.slots.extend(claim.slots)
        self.retry_at = claim.retry_at
        # Nothing more is due for now when the claim took less than it had room for: what
        # other processes or the clock add wakes us, or waits for the poll.
        self.exhausted = not claim.full

    async def _top_up(self, session: AsyncSession, now: datetime, missing: int) -> None:
        """Slots for rows in hand whose slots went by while the process was stalled."""
        count = min(missing, int(HORIZON / self.interval) + 1)
        self.slots.extend(
            await rows.grant_slots(
                session, channel=self.name, now=now, interval=self.interval, count=count
            )
        )

    # ------------------------------------------------------------------ sending

    async def _take_slot(self) -> datetime | None:
        """Wait for a slot this lane holds and take it: never before it, never more than
        GRACE after it, never before the departures allow. None if the lane holds none (more
        will be granted)."""
        while True:
            now = self.clock()
            not_before = self.departures.not_before(now)
            if not_before is not None:  # the rate-th latest request went less than a window ago
                await asyncio.sleep((not_before - now).total_seconds())
                continue
            self._drop_past_slots(now)
            if not self.slots:
                return None
            wait = (self.slots[0] - now).total_seconds()
            if wait <= 0:
                slot = self.slots.popleft()
                self.taken.append((slot, now))
                return slot
            await asyncio.sleep(wait)

    async def _send(self, message: rows.Claimed) -> None:
        try:
            while (slot := await self._take_slot()) is None:
                # Ask the lane for slots and wait until it has some: a fixed sleep here could
                # wake after each new slot's grace, again and again, and never send.
                self.granted.clear()
                self.changed.set()
                await self.granted.wait()
            # At once, with the slot: no other send of the lane is counted in between.
            departure = self.departures.start(latest=slot + GRACE, key=message.id)
            self.on_wire.add(message.id)
            started = time.perf_counter()
            try:
                with watching(departure):
                    delivery = await self._call(message)
            finally:
                departure.ended()
            metrics.SEND_SECONDS.labels(self.name).observe(time.perf_counter() - started)
            if departure.stopped:  # nothing went, whatever the channel made of it
                metrics.SLOTS_MISSED.labels(self.name).inc()
                self.results.append(
                    _Result(message, Delivery(SendResult.RETRY), self.clock(), stopped=True)
                )
                self.changed.set()
                return
        except asyncio.CancelledError:
            if message.id in self.on_wire:
                # Stopped mid-request: whether it arrived is unknown.
                delivery = Delivery(SendResult.UNKNOWN, reason="stopped while sending")
                self.results.append(_Result(message, delivery, self.clock()))
            raise
        self.results.append(_Result(message, delivery, self.clock()))
        self.changed.set()

    async def _call(self, message: rows.Claimed) -> Delivery:
        address = Address(message.channel, message.recipient)
        try:
            return await self.channel.send(address, Reply.from_json(message.body))
        except TooLate as exc:  # stopped before anything was written (`_send` gives it back)
            return Delivery(SendResult.RETRY, reason=str(exc))
        except Exception as exc:  # a bug in a channel must not leave the row "sending" for ever
            log.exception("outbox message %s: channel raised", message.id)
            return Delivery(SendResult.UNKNOWN, reason=f"channel raised {type(exc).__name__}")

    # ------------------------------------------------------------------ recording

    async def _record(self, session: AsyncSession, results: list[_Result], now: datetime) -> bool:
        """Write the outcomes; True if a message went on to another channel."""
        finished: list[rows.Finished] = []
        rerouted = False
        if back := [r.message for r in results if r.stopped]:
            await rows.give_back(session, messages=back)
            self.exhausted = False  # pending again now: claimed again, not left for a poll
        for result in (r for r in results if not r.stopped):
            outcome = result.delivery.result
            metrics.SENDS.labels(self.name, outcome.value).inc()
            if outcome is SendResult.SENT:
                self.sent += 1
            elif outcome in (SendResult.THROTTLED, SendResult.RETRY):
                await self._retry(session, result, now)
                continue
            elif outcome is SendResult.UNREACHABLE:
                await self._unreachable(session, result)
            elif outcome is SendResult.WINDOW:
                rerouted |= await self._deliver_another_way(session, result.message, now)
            if outcome is not SendResult.SENT:
                log.warning(
                    "outbox message %s: %s (%s)", result.message.id, outcome, result.delivery.reason
                )
            finished.append(
                rows.Finished(result.message, FINAL[outcome], result.at, result.delivery.reason)
            )
        await rows.finish_many(session, finished=finished, spacing=self.channel.spacing)
        return rerouted

    async def _retry(self, session: AsyncSession, result: _Result, now: datetime) -> None:
        delivery, message = result.delivery, result.message
        if delivery.result is SendResult.THROTTLED:
            metrics.THROTTLED.labels(self.name).inc()
            # Never earlier than the platform said; a second more for clock skew.
            wait = timedelta(seconds=delivery.retry_after + 1)
        else:
            wait = rows.backoff(message.attempts + 1)
        again = await rows.retry_later(
            session, message=message, not_before=now + wait, reason=delivery.reason
        )
        log.warning(
            "outbox message %s: %s (%s); %s",
            message.id,
            delivery.result,
            delivery.reason,
            f"again in {wait.total_seconds():.0f} s" if again else "given up",
        )

    async def _unreachable(self, session: AsyncSession, result: _Result) -> None:
        message = result.message
        await rows.mark_recipient_unreachable(
            session, channel=message.channel, recipient=message.recipient, reason="unreachable"
        )
        await mark_unreachable(
            session, channel=message.channel, user_id=message.recipient, at=result.at
        )

    async def _deliver_another_way(
        self, session: AsyncSession, message: rows.Claimed, now: datetime
    ) -> bool:
        """Enqueue the message to the recipient's household's chat on another channel this
        outbox sends on, before the row's body is dropped; True if a copy was added."""
        others = [name for name in self.outbox.channels if name != message.channel]
        if not others or not rows.reroutable(message):
            return False
        chat = await other_channel(
            session, channel=message.channel, user_id=message.recipient, channels=others
        )
        if chat is None:
            return False
        channel, recipient = chat
        added = await rows.deliver_another_way(
            session, message=message, channel=channel, recipient=recipient, now=now
        )
        if added:
            log.info("outbox message %s: window; a copy goes via %s", message.id, channel)
        return added

    # ------------------------------------------------------------------ stopping

    async def release(self) -> None:
        """Stopping: rows claimed, or marked sending but not yet on the wire, go back to
        pending at once; what finished is recorded."""
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        back = list(self.claimed) + [
            message for key, message in self.sending.items() if key not in self.on_wire
        ]
        try:
            async with self.outbox.sessions() as session, session.begin():
                await self._record(session, self.results, self.clock())
                await rows.give_back(session, messages=back)
        except Exception as exc:  # the leases bring them back anyway
            log.warning("outbox on %s: could not give rows back (%s)", self.name, exc)
        self.claimed.clear()
        self.slots.clear()
        self.results = []
        self.sending.clear()
        self.tasks.clear()
        self.on_wire.clear()
