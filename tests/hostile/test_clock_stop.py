"""SIGTERM or Ctrl-C while the clock is in the middle of a tick: a clean stop, one line in the
log, no traceback (issue 12, item 8)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from bot.clock import Ticker


class HeldSessions:
    """The runtime's sessions, but a tick that opens one stays inside until it is stopped."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.entered = asyncio.Event()
        self.released = asyncio.Event()  # never set: the stop comes first

    @asynccontextmanager
    async def __call__(self):
        async with self.sessions() as session:
            self.entered.set()
            await self.released.wait()
            yield session


async def test_stopping_during_a_tick_is_one_line_and_no_traceback(runtime, clock, caplog):
    caplog.set_level(logging.DEBUG)
    held = HeldSessions(runtime.sessions)
    ticker = Ticker(
        held,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        policy=runtime.settings.policy,
    )
    ticker.start()
    await asyncio.wait_for(held.entered.wait(), timeout=30)  # the first tick is under way

    await ticker.stopped()  # what `doithoai run` does on SIGTERM

    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    stopped = [r for r in caplog.records if "stopped during a tick" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.INFO
    # The database closes after it without complaint, and a new clock ticks as before.
    again = Ticker(runtime.sessions, clock=clock, zone=runtime.settings.zone, default_locale="vi")
    assert await again.tick() == 0


async def test_stopping_between_ticks_says_nothing(runtime, clock, caplog):
    caplog.set_level(logging.INFO)
    ticker = Ticker(runtime.sessions, clock=clock, zone=runtime.settings.zone, default_locale="vi")
    await ticker.stopped()  # never started
    ticker.start()
    await ticker.stopped()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
