"""The durable intake: what a webhook stored is processed once, by whichever process is alive,
and then forgotten."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime
from bot.web import WebServer, create_app
from storage import intake as events
from storage.models import IncomingEvent, ProcessedUpdate
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeBotAPI

SECRET = "s3cret-token_for-the-webhook-0123"


class Process:
    """One process of the service: its own engine, dispatcher, channel and intake, sharing
    the database and the Bot API with the others."""

    def __init__(self, database_url: str, clock, fake: FakeBotAPI):
        settings = make_settings(
            database_url, webhook_url="https://doithoai.example.vn", webhook_secret=SECRET
        )
        self.runtime = Runtime(settings, clock=clock)
        self.channel = TelegramChannel(
            token=fake.token,
            api_url=fake.url,
            dispatch=self.runtime.dispatcher.dispatch,
            spacing=timedelta(milliseconds=20),
            webhook=True,
            webhook_secret=SECRET,
        )
        self.runtime.add_channel(self.channel)
        self.tasks: list[asyncio.Task] = []
        self.dead = False

    async def start(self, *, intake: bool = True) -> Process:
        await self.channel.application.initialize()
        self.tasks.append(asyncio.create_task(self.runtime.outbox.run(idle=0.2)))
        if intake:
            self.tasks.append(asyncio.create_task(self.runtime.intake.run(every=0.2)))
        return self

    async def die(self) -> None:
        self.dead = True
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=5)
        self.tasks = []
        await self.channel.application.shutdown()
        await self.runtime.close()

    async def store(self, update: dict) -> bool:
        """What the webhook does with an update: keep it."""
        async with self.runtime.sessions() as session, session.begin():
            return await events.store(
                session,
                channel="telegram",
                key=str(update["update_id"]),
                body=json.dumps(update).encode(),
                now=self.runtime.clock(),
            )

    async def count(self, table) -> int:
        async with self.runtime.sessions() as session:
            return await session.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI().start()
    yield api
    api.stop()
    assert api.violations == []


@pytest.fixture
async def processes(database_url, clock, fake) -> AsyncIterator[Callable[[], Process]]:
    """Start processes with `processes()`; those still alive stop at the end."""
    started: list[Process] = []

    def make() -> Process:
        process = Process(database_url, clock, fake)
        started.append(process)
        return process

    yield make
    for process in started:
        if not process.dead:
            await process.die()


async def test_an_event_stored_by_a_process_that_died_is_processed_by_another(processes, fake):
    # Process A answers Telegram's post (the event is stored) and dies before processing it.
    first = await processes().start(intake=False)
    server = WebServer(create_app(first.runtime, telegram=first.channel), host="127.0.0.1", port=0)
    await server.start()
    fake.user(301)
    update = fake.send_text(301, "/start")
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/telegram",
            content=json.dumps(update),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert response.status_code == 200
    await server.stop()
    await first.die()
    assert fake.messages_to(301) == []
    # Process B, which nobody wakes, finds it at its next poll.
    second = await processes().start()
    [welcome] = await fake.await_messages(301, 1, timeout=10)
    assert welcome.text.startswith("Chào mừng")
    assert await second.count(IncomingEvent) == 0


async def test_an_event_a_dead_process_had_claimed_is_taken_over_when_its_lease_ends(
    processes, fake, clock
):
    first = await processes().start(intake=False)
    fake.user(302)
    await first.store(fake.send_text(302, "/start"))
    async with first.runtime.sessions() as session, session.begin():
        claimed, _ = await events.claim(
            session,
            channels=["telegram"],
            now=clock(),
            lease=timedelta(seconds=60),
            limit=10,
            max_attempts=5,
        )
    assert len(claimed) == 1
    await first.die()  # holding the claim

    second = await processes().start(intake=False)
    assert await second.runtime.intake.drain() == 0  # the lease still holds
    assert fake.messages_to(302) == []
    clock.advance(seconds=61)
    assert await second.runtime.intake.drain() == 1
    [welcome] = await fake.await_messages(302, 1, timeout=10)
    assert welcome.text.startswith("Chào mừng")
    assert await second.count(IncomingEvent) == 0


async def test_a_replayed_event_is_stored_once_and_processed_once(processes, fake):
    process = await processes().start(intake=False)
    fake.user(303)
    update = fake.send_text(303, "/start")
    assert await process.store(update) is True
    assert await process.store(update) is False  # the same key: kept once
    assert await process.count(IncomingEvent) == 1
    assert await process.runtime.intake.drain() == 1
    await fake.await_messages(303, 1, timeout=10)
    # Delivered again after it was processed and forgotten: the dispatcher's key holds.
    assert await process.store(update) is True
    assert await process.runtime.intake.drain() == 1
    await asyncio.sleep(0.5)
    assert len(fake.messages_to(303)) == 1
    assert await process.count(ProcessedUpdate) == 1
    assert await process.count(IncomingEvent) == 0


async def test_two_workers_process_each_event_exactly_once(processes, fake):
    first = await processes().start(intake=False)
    second = await processes().start(intake=False)
    users = range(310, 350)
    for user in users:
        fake.user(user)
        await first.store(fake.send_text(user, "/start"))
    done = await asyncio.gather(first.runtime.intake.drain(), second.runtime.intake.drain())
    # A row claimed by both would be counted by both.
    assert sum(done) == len(users)
    for user in users:
        [welcome] = await fake.await_messages(user, 1, timeout=20)
        assert welcome.text.startswith("Chào mừng")
    await asyncio.sleep(0.3)
    assert all(len(fake.messages_to(user)) == 1 for user in users)
    assert await first.count(IncomingEvent) == 0
    assert await first.count(ProcessedUpdate) == len(users)


class Unparsable:
    """A channel whose events cannot be read (a platform changed its format overnight)."""

    name = "zalo"
    rate = 10.0
    spacing = timedelta(seconds=1)

    def parse(self, raw: bytes):
        raise ValueError(raw.decode())  # the message quotes the event: it must not be logged

    async def send(self, address, reply):  # pragma: no cover - nothing is sent
        raise AssertionError


async def test_an_event_that_keeps_failing_is_retried_then_dropped_naming_only_its_id(
    processes, clock, caplog
):
    process = await processes().start(intake=False)
    process.runtime.add_channel(Unparsable())
    body = b'{"event_name": "user_send_text", "message": {"text": "nha toi o ngo 5"}}'
    async with process.runtime.sessions() as session, session.begin():
        await events.store(session, channel="zalo", key="m1", body=body, now=clock())
    async with process.runtime.sessions() as session:
        event_id = await session.scalar(select(IncomingEvent.id))
    intake = process.runtime.intake
    caplog.set_level(logging.INFO)
    for attempt in range(1, intake.max_attempts + 1):
        assert await intake.drain() == 0
        async with process.runtime.sessions() as session:
            row = await session.scalar(select(IncomingEvent))
        if attempt < intake.max_attempts:
            assert row is not None and row.attempts == attempt
            assert await intake.drain() == 0  # not before its back-off
            clock.advance(seconds=2 * attempt + 1)
    assert await process.count(IncomingEvent) == 0
    lines = [record.getMessage() for record in caplog.records]
    assert f"incoming event {event_id} dropped after 5 attempts" in lines
    assert not any("ngo 5" in line or "user_send_text" in line for line in lines)
    assert all(record.exc_info is None for record in caplog.records)


async def test_one_persons_events_are_claimed_one_at_a_time_in_the_order_they_came(database_url):
    from storage.db import create_engine, session_factory

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for key, sender in (("1", "lan"), ("2", "lan"), ("3", "hung"), ("4", "lan"), ("5", "")):
            await events.store(
                session, channel="zalo", key=key, body=key.encode(), now=now, sender=sender
            )

    async def claim() -> list[bytes]:
        async with sessions() as session, session.begin():
            claimed, _ = await events.claim(
                session,
                channels=["zalo"],
                now=now,
                lease=timedelta(seconds=60),
                limit=20,
                max_attempts=5,
            )
        return [c.body for c in claimed]

    async def finish(body: bytes) -> None:
        async with sessions() as session, session.begin():
            row = await session.scalar(select(IncomingEvent).where(IncomingEvent.body == body))
            await events.finish(session, event_id=row.id)

    # Lan's first, Hùng's, and the one of nobody known; Lan's later ones wait for her first.
    assert await claim() == [b"1", b"3", b"5"]
    assert await claim() == []  # held (leased), and Lan's next still waits behind her first
    await finish(b"1")
    assert await claim() == [b"2"]
    await finish(b"2")
    assert await claim() == [b"4"]
    await engine.dispose()
