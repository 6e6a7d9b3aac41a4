"""Each rule of delivery, one at a time, asserted on what happened rather than on how long it
took: the slots of the shared budget, a stalled process, a kill between any two steps of a
delivery, several processes on one budget, a person's spacing on a starved event loop.

No assertion here depends on the machine being idle: the rules are checked against the
outbox's own record of the slots it took, the channel's record of when each send started, and
the fake Bot API's arrival times where a rule is causal (a person's next message starts after
the previous one's answer came back).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from bot import metrics
from bot.channels.telegram import TelegramChannel
from bot.core.messages import Address, Delivery, Reply, SendResult
from bot.outbox import BUDGET_WINDOW, GRACE, WIRE, Outbox
from storage import outbox as rows
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeBotAPI
from tests.support import (
    deliver_all,
    duplicates,
    enqueue_broadcast,
    key_in,
    sessions_for,
    status_counts,
    statuses_by_key,
)


class RecordingChannel:
    """A platform in this process: records who each send went to and when it started (by the
    outbox's clock), and answers as told."""

    name = "telegram"

    def __init__(self, clock, *, rate: float, spacing: timedelta = timedelta(0)):
        self.clock = clock
        self.rate = rate
        self.spacing = spacing
        self.started: list[tuple[str, datetime]] = []  # (key in the text, when it started)
        self.hold: asyncio.Event | None = None  # when set: wait for it before answering
        self.on_send = None  # called with the key as a send starts

    async def send(self, address: Address, reply: Reply) -> Delivery:
        key = key_in(reply.text)
        self.started.append((key, self.clock()))
        if self.on_send is not None:
            self.on_send(key)
        if self.hold is not None:
            await self.hold.wait()
        return Delivery(SendResult.SENT)

    def keys(self) -> list[str]:
        return [key for key, _ in self.started]


@pytest.fixture
async def db(database_url):
    engine, sessions = sessions_for(database_url)
    yield database_url, sessions
    await engine.dispose()


def _missed(channel: str = "telegram") -> float:
    return metrics.SLOTS_MISSED.labels(channel)._value.get()


def _interval(rate: float) -> timedelta:
    return BUDGET_WINDOW / rate


# ------------------------------------------------------------------------------ the budget


async def test_processes_sharing_one_budget_never_take_the_same_slot_nor_send_before_it(db, clock):
    url, sessions = db
    rate = 200.0
    keys = await enqueue_broadcast(sessions, range(1000, 1300), now=clock())
    processes = []
    for _ in range(3):
        engine, own_sessions = sessions_for(url)
        channel = RecordingChannel(clock, rate=rate)
        processes.append(
            (engine, channel, Outbox(own_sessions, {channel.name: channel}, clock=clock))
        )
    try:
        await asyncio.gather(
            *(deliver_all(outbox, sessions, "telegram", timeout=120) for _, _, outbox in processes)
        )
    finally:
        for engine, _, _ in processes:
            await engine.dispose()

    sent = [key for _, channel, _ in processes for key in channel.keys()]
    assert duplicates(sent) == {} and sorted(sent) == sorted(keys)
    assert await status_counts(sessions) == {"sent": 300}
    slots = []
    for _, channel, outbox in processes:
        taken = list(outbox.lane("telegram").taken)
        assert len(taken) == len(channel.started)
        for (slot, at), (_, started) in zip(taken, channel.started, strict=True):
            assert slot <= at <= started  # never before its slot
            assert at - slot <= GRACE  # never long after it
        slots += [slot for slot, _ in taken]
    slots.sort()
    assert all(b - a >= _interval(rate) for a, b in pairwise(slots)), "a slot given twice"


async def test_a_process_that_stalls_throws_its_past_slots_away_instead_of_catching_up(db, clock):
    _, sessions = db
    rate = 50.0
    await enqueue_broadcast(sessions, range(2000, 2120), now=clock())
    channel = RecordingChannel(clock, rate=rate)
    outbox = Outbox(sessions, {channel.name: channel}, clock=clock)
    missed_before = _missed()
    stalled: list[datetime] = []

    def stall_once(key: str) -> None:
        if len(channel.started) == 30 and not stalled:
            time.sleep(0.6)  # the whole process stops: a long pause, a starved machine
            stalled.append(clock())

    channel.on_send = stall_once
    await deliver_all(outbox, sessions, "telegram", timeout=120)

    assert len(set(channel.keys())) == 120 and await status_counts(sessions) == {"sent": 120}
    assert _missed() - missed_before >= 10  # the slots of the stall went by unused
    taken = list(outbox.lane("telegram").taken)
    after = [(slot, at) for slot, at in taken if at >= stalled[0]]
    assert after and all(slot >= stalled[0] - GRACE for slot, _ in after)
    # However late it woke, it took at most the budget's share in any second.
    times = sorted(at for _, at in taken)
    window = timedelta(seconds=1)
    most = max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))
    assert most <= int((window + GRACE) / _interval(rate)) + 1


# ------------------------------------------------------------------------------ kills


async def _abandon(outbox: Outbox, work: asyncio.Task) -> None:
    """The process dies: its tasks stop where they are and nothing more is written."""
    lane = outbox.lane("telegram")
    work.cancel()
    for task in list(lane.tasks.values()):
        task.cancel()
    await asyncio.gather(work, *lane.tasks.values(), return_exceptions=True)


async def _restart_long_after(sessions, clock) -> None:
    clock.advance(seconds=rows.LEASE.total_seconds() + 1)
    async with sessions() as session, session.begin():
        await rows.expire_leases(session, now=clock())  # what the next clock tick does


@pytest.mark.parametrize("killed", ["claimed", "marked sending", "on the wire", "answered"])
async def test_a_kill_between_any_two_steps_of_a_delivery_loses_nothing_and_sends_nothing_twice(
    db, clock, killed
):
    url, sessions = db
    keys = await enqueue_broadcast(sessions, range(3000, 3010), prefix="invite:9", now=clock())
    received: list[str] = []
    if killed in ("claimed", "marked sending"):
        # The process died right after its claim's commit, or right after marking.
        async with sessions() as session, session.begin():
            claim = await rows.claim_due(
                session, channel="telegram", now=clock(), interval=_interval(1000), limit=10
            )
            if killed == "marked sending":
                await rows.mark_sending(session, messages=claim.messages[:WIRE], now=clock())
        assert len(claim.messages) == 10
    else:
        engine, own = sessions_for(url)
        first = RecordingChannel(clock, rate=1000)
        outbox = Outbox(own, {first.name: first}, clock=clock)
        work = asyncio.create_task(outbox.drain("telegram"))
        if killed == "on the wire":
            first.hold = asyncio.Event()  # requests that never come back
        else:
            # The platform's answer is in, and the process dies before recording it.
            first.on_send = lambda key: work.cancel()
        while not first.started:
            await asyncio.sleep(0.01)
        await _abandon(outbox, work)
        await engine.dispose()
        received += first.keys()

    await _restart_long_after(sessions, clock)
    second = RecordingChannel(clock, rate=1000)
    await deliver_all(Outbox(sessions, {second.name: second}, clock=clock), sessions, "telegram")
    received += second.keys()

    assert duplicates(received) == {}
    statuses = await statuses_by_key(sessions)
    unknown = sorted(k for k, s in statuses.items() if s == "unknown")
    assert set(statuses.values()) <= {"sent", "unknown"}
    if killed == "claimed":
        assert unknown == [] and sorted(received) == sorted(keys)  # claimed only: sent later
    else:
        # What was marked sending when the process died may or may not have arrived: never
        # resent, at most the wire's width of them, and every one listed for the organiser.
        assert 1 <= len(unknown) <= WIRE
        assert sorted(set(received) | set(unknown)) == sorted(keys)
        assert not set(second.keys()) & set(unknown)
        async with sessions() as session:
            listed = await rows.unknown(session, prefixes=["invite:9:"])
            assert sorted(key for _, key, *_ in listed) == unknown
            assert all(resendable for *_, resendable in listed)


# ------------------------------------------------------------------------------ a person's pace


async def test_a_persons_messages_arrive_a_spacing_apart_even_on_a_starved_event_loop(
    sqlite_url, clock
):
    fake = FakeBotAPI().start()
    fake.set_rate_limit(per_second=30, per_chat_per_second=1)
    engine, sessions = sessions_for(sqlite_url)
    channel = TelegramChannel(token=fake.token, api_url=fake.url, dispatch=None)
    await channel.application.initialize()
    outbox = Outbox(sessions, {channel.name: channel}, clock=clock)
    people = list(range(4000, 4040))
    fake.add_private_chats(people)
    recipients = people + people[:6] * 3  # six people get four messages each
    await enqueue_broadcast(sessions, recipients, now=clock())
    starving = True

    async def hog() -> None:
        while starving:
            time.sleep(0.15)  # the loop gets nothing done meanwhile
            await asyncio.sleep(0.1)

    hogging = asyncio.create_task(hog())
    try:
        await deliver_all(outbox, sessions, "telegram", timeout=120)
    finally:
        starving = False
        await hogging
        await channel.application.shutdown()
        await engine.dispose()
        fake.stop()
    assert fake.rate_limited == 0 and fake.violations == []
    assert len(fake.all_messages()) == len(recipients)
    for person in people[:6]:
        arrivals = [m.at for m in fake.messages_to(person)]
        assert len(arrivals) == 4
        assert all(b - a >= 1.0 for a, b in pairwise(arrivals)), arrivals


# ------------------------------------------------------------------------------ bookkeeping


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_enqueue_many_counts_what_it_inserted_while_another_writer_inserts_the_same(
    db, clock
):
    _, sessions = db

    def messages(numbers: range) -> list[rows.Outgoing]:
        return [
            rows.Outgoing(key=f"bulk:{n}", channel="telegram", recipient=str(n), body={"text": ""})
            for n in numbers
        ]

    async def enqueue(numbers: range, go: asyncio.Event) -> int:
        async with sessions() as session, session.begin():
            added = await rows.enqueue_many(session, messages=messages(numbers), now=clock())
            await go.wait()  # the transaction stays open until told
            return added

    first_go, second_go = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(enqueue(range(0, 1000), first_go))
    second = asyncio.create_task(enqueue(range(500, 1500), second_go))
    await asyncio.sleep(0)
    first_go.set()
    second_go.set()
    # Whichever wrote first, each says what it really added: 1,500 rows between them.
    assert sorted(await asyncio.gather(first, second)) == [500, 1000]
    async with sessions() as session:
        assert len(list(await session.scalars(select(OutboxMessage.id)))) == 1500


async def test_old_replies_and_update_keys_are_forgotten_by_the_clock_tick(runtime, clock):
    from bot.clock import Ticker

    await enqueue_broadcast(
        runtime.sessions, range(5000, 5005), prefix="reply:telegram", now=clock()
    )
    channel = RecordingChannel(clock, rate=1000)
    await deliver_all(
        Outbox(runtime.sessions, {channel.name: channel}, clock=clock), runtime.sessions, "telegram"
    )
    ticker = Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        retention=timedelta(days=30),
    )
    assert await ticker.prune() == 0
    clock.advance(days=31)
    assert await ticker.prune(batch=2) == 5
    assert await status_counts(runtime.sessions) == {}


# ------------------------------------------------------------------------------ the organiser


async def test_invitations_that_may_not_have_arrived_are_listed_and_resent_only_when_asked(
    runtime, clock, database_url, tmp_path
):
    from tests.telegram.test_invitations import _dialogue, _households
    from tests.test_window_fallback import _doithoai

    households = await _households(runtime, count=3)
    d = await _dialogue(runtime, clock)
    messages = [
        rows.Outgoing(
            key=f"invite:{d.id}:{h.id}:telegram",
            channel="telegram",
            recipient=str(7000 + n),
            body=Reply(text=f"Giấy mời <invite:{d.id}:{h.id}>").to_json(),
        )
        for n, h in enumerate(households)
    ]
    async with runtime.sessions() as session, session.begin():
        await rows.enqueue_many(session, messages=messages, now=clock())
        claim = await rows.claim_due(
            session, channel="telegram", now=clock(), interval=_interval(100), limit=10
        )
        await rows.mark_sending(session, messages=claim.messages[:2], now=clock())
    await _restart_long_after(runtime.sessions, clock)  # two were on the wire when it died

    def cli(*args: str) -> str:
        result = _doithoai(database_url, tmp_path, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return " ".join(result.stdout.split())

    listing = cli("outbox", "unknown", "--dialogue", str(d.id))
    assert "2 tin nhắn có thể chưa đến" in listing
    assert households[0].code in listing and households[1].code in listing
    assert households[2].code not in listing
    printed = cli("dialogue", "undelivered", str(d.id))
    assert printed.count("có thể chưa đến") == 2 and households[0].head_name in printed
    assert await status_counts(runtime.sessions) == {"unknown": 2, "pending": 1}

    resent = cli("outbox", "resend", "--dialogue", str(d.id))
    assert "2 tin nhắn đã được xếp gửi lại" in resent
    statuses = await statuses_by_key(runtime.sessions)
    assert set(statuses.values()) == {"pending"}
    async with runtime.sessions() as session:
        bodies = [r.body["text"] for r in await session.scalars(select(OutboxMessage))]
    assert sorted(bodies) == sorted(m.body["text"] for m in messages)
