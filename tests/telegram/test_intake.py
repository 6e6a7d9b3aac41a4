"""Taking updates in: a button press is answered before any database work, different people
are served at once, one person's updates strictly in order."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text

from bot.mailboxes import Mailboxes
from handlers import router


@asynccontextmanager
async def _writes_held(runtime):
    """Another writer holds the database: every update's transaction waits behind it."""
    async with runtime.sessions() as session, session.begin():
        if runtime.settings.database_url.startswith("postgresql"):
            await session.execute(text("LOCK TABLE processed_updates IN EXCLUSIVE MODE"))
        else:
            # BEGIN IMMEDIATE took SQLite's write lock; a write makes sure it is held.
            await session.execute(text("DELETE FROM processed_updates WHERE key = ''"))
        yield


async def test_a_button_press_is_answered_at_once_even_while_the_database_is_busy(telegram):
    lan = await telegram.consenting(701)
    await lan.say("/hoi")
    answered_before = len(telegram.fake.answered_callbacks())
    async with _writes_held(telegram.runtime):
        telegram.fake.press(701, lan.button("Giáo dục"))
        # Telegram has its answer while the update's transaction still waits.
        await telegram.fake.await_call("answerCallbackQuery", count=answered_before + 1)
        assert len(telegram.fake.answered_callbacks()) == answered_before + 1
    [prompt] = await lan.expect(1)  # and the reply follows once the database is free
    assert "10 đến 1000 ký tự" in prompt.text


async def test_one_persons_slow_update_does_not_hold_up_another_persons(telegram, monkeypatch):
    if telegram.runtime.settings.database_url.startswith("sqlite"):
        # SQLite has one writer: an update whose transaction is held open holds every other
        # person's too, by the database's design. Concurrency is the PostgreSQL deployment's.
        pytest.skip("SQLite serialises writers; people are served concurrently on PostgreSQL")
    lan = await telegram.consenting(702)
    binh = await telegram.consenting(703, "Bình")
    release = asyncio.Event()
    real_route = router.route

    async def route(ctx):
        if ctx.address.user_id == "702" and ctx.incoming.command == "trogiup":
            await release.wait()  # Lan's help is slow today
        await real_route(ctx)

    monkeypatch.setattr("bot.dispatcher.route", route)
    telegram.fake.send_text(702, "/trogiup")
    # Bình is answered while Lan's update is still being processed.
    [help_for_binh] = await binh.say("/trogiup")
    assert "/hoi" in help_for_binh.text
    release.set()
    [help_for_lan] = await lan.expect(1)
    assert "/hoi" in help_for_lan.text


async def test_a_persons_updates_are_processed_in_the_order_they_came():
    mailboxes = Mailboxes(limit=4)
    done: list[tuple[str, int]] = []
    gate = asyncio.Event()

    def job(person: str, number: int):
        async def run() -> None:
            if person == "lan" and number == 0:
                await gate.wait()  # Lan's first takes long
            done.append((person, number))

        return run

    for number in range(3):
        mailboxes.put("lan", job("lan", number))
        mailboxes.put("binh", job("binh", number))
    while len(done) < 3:  # Bình's three go while Lan's first waits
        await asyncio.sleep(0.01)
    assert done == [("binh", 0), ("binh", 1), ("binh", 2)]
    gate.set()
    await mailboxes.join()
    assert [n for person, n in done if person == "lan"] == [0, 1, 2]
    assert mailboxes.waiting == 0
