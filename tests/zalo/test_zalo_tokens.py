"""The OA's tokens: the access token refreshed before it expires and when Zalo refuses it, the
single-use refresh token rotated and saved in the step that refreshes, never two refreshes at
once (in one process, or two processes on one database), and what happens after a process
died between Zalo's answer and the save."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.channels.zalo import REFRESH_LEASE, ZaloChannel
from bot.core.messages import Address, Reply, SendResult
from bot.runtime import Runtime
from storage import tokens
from storage.models import ChannelToken
from tests.conftest import make_settings
from tests.fakes.zalo_api import FakeZaloAPI

LAN, HOA = "6142494823180123456", "5011223344556677889"


class Process:
    """One service process's worth: its own engine, sessions and Zalo channel."""

    def __init__(self, database_url, clock, fake: FakeZaloAPI, **overrides):
        self.settings = make_settings(database_url, **{**fake.settings(), **overrides})
        self.runtime = Runtime(self.settings, clock=clock)
        self.channel = ZaloChannel(
            settings=self.settings,
            sessions=self.runtime.sessions,
            sealer=self.runtime.dispatcher.sealer,
            clock=clock,
        )

    async def send(self, text: str, to: str = LAN):
        return await self.channel.send(Address("zalo", to), Reply(text=text))

    async def row(self) -> ChannelToken | None:
        async with self.runtime.sessions() as session:
            return await tokens.load(session, channel="zalo")

    async def close(self) -> None:
        await self.channel.close()
        await self.runtime.close()


@pytest.fixture
async def fake(clock) -> AsyncIterator[FakeZaloAPI]:
    server = FakeZaloAPI(clock=clock).start()
    server.follow_user(LAN)
    server.follow_user(HOA)
    yield server
    server.stop()


@pytest.fixture
async def process(database_url, clock, fake) -> AsyncIterator[Process]:
    one = Process(database_url, clock, fake)
    yield one
    await one.close()


async def test_the_first_tokens_come_from_the_settings_and_are_rotated_at_first_use(process, fake):
    first_refresh = fake.refresh_token
    assert await process.row() is None
    assert (await process.send("Xin chào")).result is SendResult.SENT
    row = await process.row()
    assert fake.refreshes == 1 and fake.refresh_token_spent(first_refresh)
    assert (row.access_token, row.refresh_token) == (fake.access_token, fake.refresh_token)
    assert row.refresh_started_at is None
    assert fake.token_refusals == 0


async def test_the_database_keeps_the_tokens_and_the_settings_no_longer_count(
    database_url, clock, fake, process
):
    await process.send("Một")
    stale = Process(database_url, clock, fake)  # started with the settings' first tokens
    try:
        assert (await stale.send("Hai")).result is SendResult.SENT
        assert fake.refreshes == 1, "the second process used the stored token"
    finally:
        await stale.close()


async def test_the_access_token_is_refreshed_before_it_expires(process, fake, clock):
    await process.send("Một")
    first = await process.row()
    clock.advance(seconds=fake.access_lifetime - 4 * 60)  # under five minutes left
    assert (await process.send("Hai")).result is SendResult.SENT
    second = await process.row()
    assert fake.refreshes == 2 and fake.token_refusals == 0
    assert second.access_token != first.access_token
    assert fake.refresh_token_spent(first.refresh_token)
    assert second.expires_at > first.expires_at


async def test_a_refused_token_is_refreshed_and_the_message_sent_once(process, fake):
    await process.send("Một")
    fake.expire_access_tokens()  # revoked at Zalo's end before its time
    delivery = await process.send("Hai")
    assert delivery.result is SendResult.SENT
    assert fake.refreshes == 2 and fake.token_refusals == 1
    assert [m.text for m in fake.messages_to(LAN)] == ["Một", "Hai"]


async def test_a_token_refused_again_after_a_refresh_is_not_refreshed_twice(process, fake):
    await process.send("Một")
    fake.fail_next(code=-216, times=2)
    delivery = await process.send("Hai")
    assert delivery.result is SendResult.THROTTLED and "-216" in delivery.reason
    assert fake.refreshes == 2, "one refresh for that send, not a loop"


async def test_an_expired_token_answer_is_handled_like_an_invalid_one(process, fake):
    await process.send("Một")
    fake.fail_next(code=-220)
    assert (await process.send("Hai")).result is SendResult.SENT
    assert fake.refreshes == 2


async def test_concurrent_sends_in_one_process_refresh_once(process, fake):
    fake.refresh_gate.clear()  # hold Zalo's answer so that every send needs the token
    sends = asyncio.gather(*(process.send(f"Tin {n}", to=(LAN, HOA)[n % 2]) for n in range(10)))
    assert await fake.await_until(lambda: fake.refresh_requests >= 1)
    await asyncio.sleep(0.3)
    assert fake.refresh_requests == 1
    fake.refresh_gate.set()
    deliveries = await sends
    assert {d.result for d in deliveries} == {SendResult.SENT}
    assert fake.refreshes == 1 and fake.refusals == 0


async def test_two_processes_on_one_database_refresh_once(database_url, clock, fake, process):
    other = Process(database_url, clock, fake)
    try:
        fake.refresh_gate.clear()
        sends = asyncio.gather(*(p.send(f"Tin {n}") for n in range(4) for p in (process, other)))
        assert await fake.await_until(lambda: fake.refresh_requests >= 1)
        await asyncio.sleep(0.5)  # the other process looks at the row meanwhile
        assert fake.refresh_requests == 1
        fake.refresh_gate.set()
        deliveries = await sends
        assert {d.result for d in deliveries} == {SendResult.SENT}
        assert fake.refreshes == 1 and fake.refusals == 0
        assert len(fake.messages_to(LAN)) == 8
        # Both now hold the stored token; when it is refused, one refresh again.
        fake.expire_access_tokens()
        deliveries = await asyncio.gather(process.send("Sau"), other.send("Sau nữa"))
        assert {d.result for d in deliveries} == {SendResult.SENT}
        assert fake.refreshes == 2 and fake.refusals == 0
    finally:
        await other.close()


async def test_a_crash_between_zalos_answer_and_the_save_needs_an_operator(
    database_url, clock, fake, process, caplog
):
    """Zalo rotated the tokens, the process died before saving them: the stored refresh token
    is spent. The next refresh notices the interrupted one, tries the stored token once, says
    so in one log line, and Zalo is left alone until an operator gives new tokens."""
    await process.send("Một")
    before = await process.row()
    clock.advance(seconds=fake.access_lifetime)  # the access token has expired
    fake.lose_refresh_answers = True
    dying = asyncio.create_task(process.send("Hai"))
    assert await fake.await_until(lambda: fake.refreshes == 2)  # Zalo has rotated
    dying.cancel()  # the process dies before the answer is saved
    with pytest.raises(asyncio.CancelledError):
        await dying
    fake.lose_refresh_answers = False
    crashed = await process.row()
    assert crashed.refresh_started_at is not None
    assert crashed.refresh_token == before.refresh_token
    assert fake.refresh_token_spent(crashed.refresh_token)

    # Another process, within the lease, waits for the refresh it thinks is under way.
    restarted = Process(database_url, clock, fake)
    try:
        waiting = asyncio.create_task(restarted.send("Ba"))
        await asyncio.sleep(0.5)
        assert not waiting.done() and fake.refusals == 0
        clock.advance(seconds=REFRESH_LEASE.total_seconds() + 1)
        with caplog.at_level(logging.INFO, logger="bot.channels.zalo"):
            delivery = await asyncio.wait_for(waiting, 10)
            assert delivery.result is SendResult.THROTTLED  # kept for later, not lost
            assert (await restarted.send("Bốn")).result is SendResult.THROTTLED
        assert fake.refusals == 1, "the spent token was tried once, not again and again"
        spent = await restarted.row()
        assert tokens.is_spent(spent) and spent.refresh_started_at is None
        lines = [r.getMessage() for r in caplog.records]
        assert sum("never finished" in line for line in lines) == 1
        assert (
            sum(
                "operator" in line and "ERROR" == r.levelname
                for line, r in zip(lines, caplog.records, strict=True)
            )
            == 1
        )
        secrets_seen = {before.access_token, before.refresh_token, fake.access_token}
        assert not any(secret in line for line in lines for secret in secrets_seen)
        assert fake.messages_to(LAN)[-1].text == "Một"

        # The operator gives new tokens (doithoai zalo tokens …): Zalo works again.
        access, refresh = fake.issue_tokens()
        async with restarted.runtime.sessions() as session, session.begin():
            now = clock()
            await tokens.set_tokens(
                session,
                channel="zalo",
                access_token=access,
                refresh_token=refresh,
                expires_at=now + timedelta(hours=1),
                now=now,
            )
        assert (await restarted.send("Năm")).result is SendResult.SENT
        assert fake.messages_to(LAN)[-1].text == "Năm"
    finally:
        await restarted.close()


async def test_with_the_refresh_token_spent_the_access_token_serves_until_it_expires(
    process, fake, clock
):
    await process.send("Một")
    async with process.runtime.sessions() as session, session.begin():
        row = await tokens.lock(session, channel="zalo")
        tokens.mark_spent(row, now=clock())
    clock.advance(seconds=fake.access_lifetime - 4 * 60)  # would be refreshed now
    assert (await process.send("Hai")).result is SendResult.SENT
    assert fake.refresh_requests == 1


async def test_a_refresh_that_fails_on_the_way_keeps_the_refresh_token(process, fake):
    fake.stop()
    delivery = await process.send("Một")
    assert delivery.result is SendResult.THROTTLED
    row = await process.row()
    assert row.refresh_token == fake.refresh_token and row.refresh_started_at is None


async def test_set_tokens_replaces_whatever_the_row_holds(process, clock):
    now = clock()
    async with process.runtime.sessions() as session, session.begin():
        await tokens.set_tokens(
            session,
            channel="zalo",
            access_token="a1",
            refresh_token="r1",
            expires_at=now + timedelta(hours=1),
            now=now,
        )
    async with process.runtime.sessions() as session, session.begin():
        row = await tokens.lock(session, channel="zalo")
        tokens.start_refresh(row, now=now)
    async with process.runtime.sessions() as session, session.begin():
        await tokens.set_tokens(
            session,
            channel="zalo",
            access_token="a2",
            refresh_token="r2",
            expires_at=now + timedelta(hours=2),
            now=now,
        )
    row = await process.row()
    assert (row.access_token, row.refresh_token, row.refresh_started_at) == ("a2", "r2", None)
    with pytest.raises(ValueError):
        async with process.runtime.sessions() as session, session.begin():
            await tokens.set_tokens(
                session,
                channel="zalo",
                access_token="a3",
                refresh_token="",
                expires_at=now,
                now=now,
            )
