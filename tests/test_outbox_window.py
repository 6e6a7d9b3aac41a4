"""The rate counted where the platform counts it: from when each request really went.

The rules (bot/outbox_window.py): a send's first request does not go more than GRACE after its
slot (stopped before its first byte, the row pending again); and a send waits until the
rate-th latest departure of its lane is DEPARTURE_WINDOW (a second and a margin) behind it, a
departure being when the channel said its request was written, else when its send returned,
and "now" while it has not gone. Asserted on given instants and on the moments the lane and
the channel recorded, never on how long anything took.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.telegram import TelegramChannel
from bot.core.departure import TooLate, departed, leaving, watching
from bot.core.messages import Address, Delivery, Reply, SendResult
from bot.outbox import BUDGET_WINDOW, GRACE, Outbox
from bot.outbox_window import DEPARTURE_WINDOW, Departures
from tests.fakes.telegram_api import FakeBotAPI
from tests.support import (
    RecordingWatch,
    deliver_all,
    enqueue_broadcast,
    key_in,
    sessions_for,
    status_counts,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


class Stepped:
    """A clock that stands still until told."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, offset: timedelta) -> Stepped:
        self.now = T0 + offset
        return self


def _gone(departures: Departures, clock: Stepped, *offsets: timedelta) -> None:
    for offset in offsets:
        clock.at(offset)
        departures.start().departed()


# ------------------------------------------------------------------------------ the rules


def test_the_window_is_a_second_and_a_margin_and_the_budget_leaves_room_for_lateness():
    assert timedelta(seconds=1) < DEPARTURE_WINDOW < BUDGET_WINDOW
    # What a request may leave after its slot without delaying the one a second later.
    assert BUDGET_WINDOW - DEPARTURE_WINDOW >= 10 * MS
    # Between processes: rate + 1 slots, the first request GRACE late, still over a second.
    assert BUDGET_WINDOW - GRACE > timedelta(seconds=1)


def test_the_rate_plus_first_send_waits_until_the_window_and_its_margin_have_passed():
    clock = Stepped()
    departures = Departures(4, clock=clock)
    _gone(departures, clock, 0 * MS, 100 * MS, 200 * MS)
    assert departures.not_before(clock.now) is None  # three in the window: a fourth may go
    _gone(departures, clock, 300 * MS)
    # A second after the first is not enough: the platform may see them closer than sent.
    assert departures.not_before(T0 + timedelta(seconds=1)) == T0 + DEPARTURE_WINDOW
    assert departures.not_before(T0 + DEPARTURE_WINDOW) is None
    _gone(departures, clock, DEPARTURE_WINDOW)
    assert departures.not_before(clock.now) == T0 + 100 * MS + DEPARTURE_WINDOW


def test_a_request_counts_from_when_it_really_went_not_from_its_slot():
    clock = Stepped()
    departures = Departures(1, clock=clock)
    late = departures.start()  # allowed at its slot, held up in the library...
    clock.at(50 * MS)
    assert departures.not_before(clock.now) == clock.now + DEPARTURE_WINDOW  # not gone: now
    clock.at(90 * MS)
    late.departed()  # ...until it went 90 ms after
    clock.at(95 * MS)
    late.ended()  # its answer: the moment the channel told stands
    assert departures.not_before(T0 + timedelta(seconds=1)) == T0 + 90 * MS + DEPARTURE_WINDOW


def test_a_channel_that_never_tells_counts_from_when_its_send_returned():
    clock = Stepped()
    departures = Departures(1, clock=clock)
    silent = departures.start()
    clock.at(30 * MS)
    silent.ended()
    assert departures.not_before(clock.at(40 * MS).now) == T0 + 30 * MS + DEPARTURE_WINDOW


def test_the_latest_count_whatever_order_they_went_in():
    clock = Stepped()
    departures = Departures(2, clock=clock)
    first, second, third = departures.start(), departures.start(), departures.start()
    for departure, offset in ((second, 0 * MS), (third, 100 * MS), (first, 200 * MS)):
        clock.at(offset)
        departure.departed()
    assert departures.not_before(clock.at(300 * MS).now) == T0 + 100 * MS + DEPARTURE_WINDOW


def test_below_one_a_second_one_request_in_a_window():
    clock = Stepped()
    departures = Departures(0.5, clock=clock)
    _gone(departures, clock, 0 * MS)
    assert departures.not_before(clock.at(MS).now) == T0 + DEPARTURE_WINDOW


def test_a_first_request_held_up_past_its_slot_is_stopped_before_anything_goes():
    clock = Stepped()
    departures = Departures(4, clock=clock)
    on_time = departures.start(latest=T0 + GRACE)
    clock.at(GRACE)
    on_time.leaving()  # at the very end of its grace: it goes
    held_up = departures.start(latest=T0 + GRACE)
    clock.at(GRACE + MS)
    with pytest.raises(TooLate):
        held_up.leaving()
    with pytest.raises(TooLate):
        held_up.leaving()  # nor does a second try go
    held_up.ended()
    assert held_up.stopped and not on_time.stopped
    assert departures.not_before(clock.now) is None  # what never went is not counted


def test_once_part_of_a_send_went_the_rest_is_never_stopped():
    clock = Stepped()
    departures = Departures(4, clock=clock)
    voice_then_text = departures.start(latest=T0 + GRACE)
    voice_then_text.leaving()
    clock.at(GRACE * 10)
    voice_then_text.departed()
    voice_then_text.leaving()  # the text after the voice note: stopping it would resend the voice
    assert not voice_then_text.stopped


def test_what_reports_after_the_send_returned_is_not_the_sends():
    clock = Stepped()
    departures = Departures(1, clock=clock)
    send = departures.start(latest=T0 + GRACE)
    send.leaving()
    send.departed()
    send.ended()
    clock.at(GRACE * 10)
    send.leaving()  # a task the send started, still at work: never stopped...
    send.departed()  # ...nor moving the send's departure
    assert not send.stopped and send.at == T0


# ------------------------------------------------------------------------------ in the lane


class LateChannel:
    """Records when each request went (by the outbox's clock, just before telling it). One
    send, the `late`-th, is held up until `behind` later sends have started, as one stuck in
    the library or in a stalled process would be: `after_first_byte`, its request had begun
    and goes late; otherwise it asks to leave only then, and is stopped. Stopped, it answers
    as Telegram's channel would (PTB wraps the error: "unknown")."""

    name = "telegram"

    def __init__(self, clock, *, rate: float, late: int, behind: int, after_first_byte: bool):
        self.clock, self.rate, self.spacing = clock, rate, timedelta(0)
        self.late, self.behind, self.after_first_byte = late, behind, after_first_byte
        self.started: list[str] = []
        self.went: dict[str, list[datetime]] = {}
        self.moved = asyncio.Event()

    async def send(self, address: Address, reply: Reply) -> Delivery:
        key = key_in(reply.text)
        self.started.append(key)
        self.moved.set()
        held_up = len(self.started) == self.late
        try:
            if self.after_first_byte or not held_up:
                leaving()
            while held_up and len(self.started) < self.late + self.behind:
                self.moved.clear()
                await self.moved.wait()
            leaving()
        except TooLate as exc:
            return Delivery(SendResult.UNKNOWN, reason=f"NetworkError: {exc}")
        self.went.setdefault(key, []).append(self.clock())
        departed()
        return Delivery(SendResult.SENT)


async def _deliver(database_url, clock, *, after_first_byte: bool) -> tuple[LateChannel, Outbox]:
    engine, sessions = sessions_for(database_url)
    try:
        await enqueue_broadcast(sessions, range(6000, 6100), now=clock())
        channel = LateChannel(clock, rate=40, late=20, behind=20, after_first_byte=after_first_byte)
        outbox = Outbox(sessions, {channel.name: channel}, clock=clock)
        await deliver_all(outbox, sessions, "telegram", timeout=120)
        assert await status_counts(sessions) == {"sent": 100}  # nothing unknown, nothing lost
    finally:
        await engine.dispose()
    assert len(channel.went) == 100 and all(len(went) == 1 for went in channel.went.values())
    taken = list(outbox.lane("telegram").taken)
    assert all(slot <= at <= slot + GRACE for slot, at in taken)  # slots kept as before
    return channel, outbox


async def test_a_request_that_went_late_holds_back_those_that_would_reach_the_platform_with_it(
    database_url, clock
):
    channel, _ = await _deliver(database_url, clock, after_first_byte=True)
    went = sorted(at for (at,) in channel.went.values())
    # Whatever the machine did: never rate + 1 requests within the window, as they went.
    assert all(b - a >= DEPARTURE_WINDOW for a, b in zip(went, went[40:], strict=False))


async def test_a_send_held_up_past_its_slot_before_its_first_byte_goes_later_and_once(
    database_url, clock
):
    channel, outbox = await _deliver(database_url, clock, after_first_byte=False)
    held_up = channel.started[19]
    assert channel.started.count(held_up) == 2  # stopped, pending again, sent with a new slot
    assert channel.went[held_up][0] > outbox.lane("telegram").taken[19][0] + GRACE


async def _telegram_send(told: RecordingWatch) -> tuple[Delivery, FakeBotAPI]:
    fake = FakeBotAPI().start()
    fake.add_private_chats([7001])
    channel = TelegramChannel(token=fake.token, api_url=fake.url, dispatch=None)
    await channel.application.initialize()
    try:
        with watching(told):
            delivery = await channel.send(Address("telegram", "7001"), Reply(text="xin chào"))
        departed()  # outside a send: nobody listens
    finally:
        await channel.application.shutdown()
        fake.stop()
    return delivery, fake


async def test_the_telegram_channel_asks_before_its_request_goes_and_tells_once_written():
    told = RecordingWatch()
    delivery, _ = await _telegram_send(told)
    assert delivery.result is SendResult.SENT
    assert told.calls == ["leaving", "departed"]


async def test_a_telegram_request_stopped_before_it_goes_leaves_nothing_at_the_platform():
    told = RecordingWatch(stop=True)
    delivery, fake = await _telegram_send(told)
    # PTB makes a network error of it; the outbox knows better (the lane test above).
    assert delivery.result is not SendResult.SENT
    assert told.calls == ["leaving"] and fake.all_messages() == []
    assert [c for c in fake.calls if c.method == "sendMessage"] == []


class StalledOnce:
    """A channel whose first send stalls a second before its first byte (the clock moved on,
    as a starved process sees it), so that the outbox stops it; then sends as usual."""

    name = "telegram"

    def __init__(self, clock) -> None:
        self.clock, self.rate, self.spacing = clock, 25.0, timedelta(0)
        self.attempts: list[str] = []

    async def send(self, address: Address, reply: Reply) -> Delivery:
        self.attempts.append(key_in(reply.text))
        if self.stalls():
            self.clock.advance(seconds=1)
        try:
            leaving()
        except TooLate as exc:
            return Delivery(SendResult.UNKNOWN, reason=f"NetworkError: {exc}")
        departed()
        return Delivery(SendResult.SENT)

    def stalls(self) -> bool:
        return len(self.attempts) == 1


async def test_the_last_row_stopped_before_its_first_byte_is_sent_by_the_same_drain(
    database_url, clock
):
    # `dialogue invite` drains once and reports what is left: a row given back must not wait
    # for the next poll of `doithoai run`.
    engine, sessions = sessions_for(database_url)
    try:
        await enqueue_broadcast(sessions, [6000], now=clock())
        channel = StalledOnce(clock)
        outbox = Outbox(sessions, {channel.name: channel}, clock=clock)
        assert await outbox.drain("telegram") == 1
        assert await status_counts(sessions) == {"sent": 1}
    finally:
        await engine.dispose()
    assert len(channel.attempts) == 2 and len(set(channel.attempts)) == 1


def test_a_message_stopped_once_is_not_stopped_again_however_late():
    clock = Stepped()
    departures = Departures(40, clock=clock)
    first = departures.start(latest=T0 + GRACE, key=7)
    clock.at(GRACE * 3)
    with pytest.raises(TooLate):
        first.leaving()
    first.ended()
    again = departures.start(latest=clock() + GRACE, key=7)
    clock.at(GRACE * 10)
    again.leaving()  # a starved process: its second try goes
    assert not again.stopped
    other = departures.start(latest=clock() + GRACE, key=8)
    clock.at(GRACE * 20)
    with pytest.raises(TooLate):  # another message is still held to its slot
        other.leaving()


class AlwaysStarved(StalledOnce):
    """Every send stalls past its slot before its first byte, as in a process whose event loop
    is always slower than the grace."""

    def stalls(self) -> bool:
        return True


async def test_a_process_too_starved_for_any_slot_still_sends_each_message_once(
    database_url, clock
):
    engine, sessions = sessions_for(database_url)
    try:
        await enqueue_broadcast(sessions, range(6000, 6010), now=clock())
        channel = AlwaysStarved(clock)
        outbox = Outbox(sessions, {channel.name: channel}, clock=clock)
        await deliver_all(outbox, sessions, "telegram", timeout=120)
        assert await status_counts(sessions) == {"sent": 10}
    finally:
        await engine.dispose()
    # Each stopped once at its slot, then sent: twice asked, once gone.
    assert sorted(Counter(channel.attempts).values()) == [2] * 10
