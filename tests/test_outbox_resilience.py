"""The outbox keeps its promises under crashes, competition and Telegram's limits.

The service runs as operators run it (`doithoai run`, a child process) or in this process,
always against the HTTP fake of the Bot API; each broadcast text carries its idempotency key,
so the fake can tell which messages it received and how many times. The tests assert on what
the fake received and on what the database holds.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import random
import time
from collections import Counter
from datetime import timedelta

import pytest

from bot.channels.telegram import TelegramChannel
from bot.core.clock import utcnow
from bot.outbox import WIRE, Outbox
from storage.outbox import LEASE
from tests.fakes.telegram_api import FakeBotAPI
from tests.support import (
    Service,
    age_leases,
    clean_outbox,
    duplicates,
    enqueue_broadcast,
    in_flight,
    key_in,
    sessions_for,
    status_counts,
    statuses_by_key,
    wait_until,
)

KILLS = 5
# Past any lease a dead process left behind: what a restart long after the crash finds.
LONG_AFTER = LEASE + timedelta(seconds=5)


def _received_keys(fake: FakeBotAPI) -> list[str]:
    return [key_in(message.text) for message in fake.all_messages()]


def _sends(fake: FakeBotAPI) -> int:
    return sum(1 for call in fake.calls if call.method == "sendMessage")


async def _no_dispatch(incoming):
    raise AssertionError("these tests push no updates")


@pytest.fixture
def fake():
    server = FakeBotAPI().start()
    yield server
    server.stop()


@pytest.fixture
async def db(database_url):
    """(url, sessions) on each kind of database; the rows added are removed afterwards."""
    engine, sessions = sessions_for(database_url)
    yield database_url, sessions
    await engine.dispose()
    if database_url.startswith("postgresql"):
        await clean_outbox(database_url)  # the `test` database is shared with other tests


@pytest.fixture
async def outbox_in_process(sqlite_url, fake):
    """The real Outbox and TelegramChannel in this process, at the default limits."""
    engine, sessions = sessions_for(sqlite_url)
    channel = TelegramChannel(token=fake.token, api_url=fake.url, dispatch=_no_dispatch)
    await channel.application.initialize()
    yield Outbox(sessions, {channel.name: channel}, clock=utcnow), sessions
    await channel.application.shutdown()
    await engine.dispose()


# ------------------------------------------------------------------------------ crashes


async def test_a_broadcast_killed_again_and_again_loses_nothing_sends_nothing_twice_and_leaves_nothing_stuck(
    db, fake, tmp_path
):
    url, sessions = db
    seed = int(os.environ.get("DOITHOAI_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    recipients = list(range(700_000, 702_000))
    fake.add_private_chats(recipients)
    keys = await enqueue_broadcast(sessions, recipients)
    service = Service(
        database_url=url, api_url=fake.url, token=fake.token, workdir=tmp_path, rate=400
    )
    context = f"seed {seed}; service log:\n"
    try:
        for kill in range(KILLS):
            before = _sends(fake)
            service.start()

            async def sending(before=before) -> bool:
                assert service.alive(), context + service.log_tail()
                return _sends(fake) > before

            await wait_until(sending, timeout=30, interval=0.02, what="the service sends")
            await asyncio.sleep(rng.uniform(0.05, 2.0))
            service.kill()
            if kill % 2:
                # Every other restart comes long after the crash; the others straight away,
                # while the dead process's leases still hold.
                await age_leases(sessions, by=LONG_AFTER)
        assert await in_flight(sessions) > 0, "the broadcast ended before the last kill"
        await age_leases(sessions, by=LONG_AFTER)
        service.start()

        async def finished() -> bool:
            assert service.alive(), context + service.log_tail()
            return await in_flight(sessions) == 0

        await wait_until(finished, timeout=120, what="every row delivered or given up")
        assert service.stop() == 0, context + service.log_tail()
    finally:
        service.stop()

    received = _received_keys(fake)
    statuses = await statuses_by_key(sessions)
    counts = Counter(statuses.values())
    context += service.log_tail()
    # Each key at most once: what was sent, and what is unknown because a kill cut it off.
    assert duplicates(received) == {}, context
    assert set(received) <= set(keys), context
    assert set(statuses) == set(keys)
    assert set(counts) <= {"sent", "unknown"}, (counts, context)
    never_received = [k for k, status in statuses.items() if status == "sent" and k not in received]
    assert never_received == [], context
    assert counts["unknown"] <= KILLS * WIRE, (counts, context)
    assert counts["sent"] + counts["unknown"] == len(keys)
    # A kill can cut a request off after its headers: the fake sees an empty call, nothing else.
    cut_off = [v for v in fake.violations if v.endswith("(params: {})")]
    assert len(cut_off) <= KILLS and fake.violations == cut_off, fake.violations
    unknown_received = sum(1 for k, st in statuses.items() if st == "unknown" and k in received)
    print(
        f"seed {seed}: {dict(counts)}, {unknown_received} unknown received; {service.starts} starts"
    )


# ------------------------------------------------------------------------------ competition

SHARED_RATE = 50.0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_workers_on_postgresql_share_one_broadcast_each_message_received_exactly_once(
    db, tmp_path
):
    url, sessions = db
    recipients = list(range(800_000, 801_000))
    keys = await enqueue_broadcast(sessions, recipients)
    # One fake per worker (the same bot, as far as each knows), so the test can see that
    # both did their share; together they must stay within the one shared budget.
    fakes = [FakeBotAPI().start(), FakeBotAPI().start()]
    workers = []
    for number, fake in enumerate(fakes):
        fake.add_private_chats(recipients)
        workers.append(
            Service(
                database_url=url,
                api_url=fake.url,
                token=fake.token,
                workdir=tmp_path,
                rate=SHARED_RATE,
                name=f"worker{number}",
            )
        )
    try:
        for worker in workers:
            worker.start()

        async def finished() -> bool:
            for worker in workers:
                assert worker.alive(), worker.log_tail()
            return await in_flight(sessions) == 0

        await wait_until(finished, timeout=60, what="the broadcast delivered")
        for worker in workers:
            assert worker.stop() == 0, worker.log_tail()
    finally:
        for worker in workers:
            worker.stop()
        for fake in fakes:
            fake.stop()

    shares = [_received_keys(fake) for fake in fakes]
    received = shares[0] + shares[1]
    assert duplicates(received) == {}
    assert sorted(received) == sorted(keys)
    assert await status_counts(sessions) == {"sent": len(keys)}
    # Both took part (how evenly depends on when each started, which is not the point).
    assert all(len(share) >= len(keys) // 100 for share in shares), [len(s) for s in shares]
    times = sorted(m.at for fake in fakes for m in fake.all_messages())
    # The steady part (between the first and last tenth) at the shared rate, not twice it.
    steady = times[len(times) // 10 : -len(times) // 10]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    # Together no faster than the one budget. Sends lag their slots by a varying amount on a
    # loaded machine, which skews a rate measured from arrivals by several percent (54/s was
    # seen once for 50/s on two busy cores); a second budget would show twice the rate. The
    # busiest second is shown, not asserted: late messages can bunch up within one.
    print(f"two workers: {[len(s) for s in shares]}, {rate:.1f}/s, busiest second {busiest}")
    assert rate <= SHARED_RATE * 1.15
    for fake in fakes:
        assert fake.violations == []


# ------------------------------------------------------------------------------ Telegram's limits


def _why_throttled(fake: FakeBotAPI) -> list[str]:
    """For each 429: how many messages the fake took in the second before, in all chats and
    in that chat, and how long before the chat's previous one."""
    accepted = fake.all_messages()
    reasons = []
    for call in fake.calls:
        if call.method == "sendMessage" and call.response.get("error_code") == 429:
            chat = call.params["chat_id"]
            before = [m for m in accepted if call.at - 1.0 < m.at <= call.at]
            previous = [m.at for m in accepted if m.chat_id == chat and m.at <= call.at]
            gap = f"{call.at - previous[-1]:.3f} s" if previous else "-"
            reasons.append(
                f"chat {chat}: {len(before)} in the second before, "
                f"{sum(m.chat_id == chat for m in before)} to the chat; gap {gap}"
            )
    return reasons


async def _deliver_everything(outbox: Outbox, sessions, *, timeout: float) -> float:
    """Run delivery as `doithoai run` does until no row is left to send; the time it took."""
    started = time.monotonic()
    delivery = asyncio.create_task(outbox.run(idle=0.2))
    try:

        async def finished() -> bool:
            assert not delivery.done(), delivery
            return await in_flight(sessions) == 0

        await wait_until(finished, timeout=timeout, what="every row delivered")
    finally:
        delivery.cancel()
    return time.monotonic() - started


async def test_a_broadcast_at_the_default_limits_gets_no_429_from_a_telegram_enforcing_30_a_second_and_1_a_second_per_chat(
    outbox_in_process, fake
):
    outbox, sessions = outbox_in_process
    fake.set_rate_limit(per_second=30, per_chat_per_second=1)
    # 500 messages: 410 people get one, 30 get two and 10 get three, in a shuffled order
    # (so a person's messages are sometimes next to each other, sometimes far apart).
    people = list(range(600_000, 600_450))
    recipients = people + people[410:] + people[440:]
    random.Random(3).shuffle(recipients)
    fake.add_private_chats(people)
    keys = await enqueue_broadcast(sessions, recipients)

    elapsed = await _deliver_everything(outbox, sessions, timeout=45)

    received = _received_keys(fake)
    assert fake.rate_limited == 0, _why_throttled(fake)
    assert duplicates(received) == {} and sorted(received) == sorted(keys)
    assert await status_counts(sessions) == {"sent": 500}
    for person in people[410:]:
        times = [m.at for m in fake.messages_to(person)]
        assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False)), times
    print(f"500 messages in {elapsed:.1f} s ({500 / elapsed:.1f}/s)")
    assert elapsed >= 499 / outbox.channels["telegram"].rate  # never faster than the budget


async def test_a_429_in_the_middle_of_a_broadcast_delays_that_message_by_at_least_retry_after_while_the_others_keep_going(
    outbox_in_process, fake
):
    outbox, sessions = outbox_in_process
    recipients = list(range(610_000, 610_060))
    throttled = recipients[10]
    fake.add_private_chats(recipients)
    keys = await enqueue_broadcast(sessions, recipients)
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 2",
        retry_after=2,
        chat_id=throttled,
    )

    await _deliver_everything(outbox, sessions, timeout=30)

    [refusal] = [c for c in fake.calls if c.method == "sendMessage" and not c.ok]
    assert refusal.params["chat_id"] == throttled
    [delivered] = fake.messages_to(throttled)
    assert delivered.at - refusal.at >= 2.0
    meanwhile = [m for m in fake.all_messages() if refusal.at < m.at < delivered.at]
    assert len(meanwhile) >= 40, "the rest of the broadcast waited for the throttled message"
    received = _received_keys(fake)
    assert duplicates(received) == {} and sorted(received) == sorted(keys)
    assert await status_counts(sessions) == {"sent": 60}
    assert fake.rate_limited == 1 and fake.violations == []


async def test_a_blocked_chat_has_all_its_messages_marked_unreachable_and_is_never_tried_again(
    outbox_in_process, fake
):
    outbox, sessions = outbox_in_process
    people = list(range(620_000, 620_030))
    blocked = people[5]
    recipients = people[:6] + [blocked] + people[6:20] + [blocked] + people[20:]
    fake.add_private_chats(people)
    fake.block(blocked)
    keys = await enqueue_broadcast(sessions, recipients)

    await _deliver_everything(outbox, sessions, timeout=30)
    await outbox.drain("telegram")  # nothing left to try, even when asked again

    tries = [c for c in fake.calls if c.method == "sendMessage" and c.params["chat_id"] == blocked]
    assert len(tries) == 1 and tries[0].response["error_code"] == 403
    statuses = await statuses_by_key(sessions)
    assert {statuses[k] for k in keys if k.startswith(f"broadcast:{blocked}:")} == {"unreachable"}
    assert Counter(statuses.values()) == {"sent": 29, "unreachable": 3}
    received = _received_keys(fake)
    assert duplicates(received) == {} and len(received) == 29


async def test_a_delivery_process_that_stalls_does_not_catch_up_in_a_burst_over_telegrams_limit(
    outbox_in_process, fake
):
    outbox, sessions = outbox_in_process
    fake.set_rate_limit(per_second=30)
    recipients = list(range(630_000, 630_150))
    fake.add_private_chats(recipients)
    keys = await enqueue_broadcast(sessions, recipients)
    delivery = asyncio.create_task(outbox.run(idle=0.2))
    try:
        await fake.await_call("sendMessage", count=50, timeout=30)
        # The whole process stops for a moment: a long garbage collection, a blocking call,
        # a virtual machine starved of CPU.
        time.sleep(0.6)  # blocking the loop is the point

        async def finished() -> bool:
            return await in_flight(sessions) == 0

        await wait_until(finished, timeout=30, what="every row delivered")
    finally:
        delivery.cancel()
    assert sorted(_received_keys(fake)) == sorted(keys)
    assert fake.rate_limited == 0, _why_throttled(fake)
