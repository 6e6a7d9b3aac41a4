"""The board's rendered pages, kept per version of the data (PageCache), and that version,
read at most every VERSION_EVERY seconds (DataVersion)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.board_page import MAX_AGE
from storage import board as store
from storage import board_counts
from storage.db import reading

if TYPE_CHECKING:
    from bot.runtime import Runtime


# Rendered pages kept in memory (the largest is bounded: a page of questions).
CACHE_ENTRIES = 256
# How often the data version is read from the database when this process has changed nothing
# (its own changes are seen at once): other processes' changes show within this, a reader
# whose page has not changed costs no query at all.
VERSION_EVERY = 1.0


@dataclass(frozen=True)
class Rendered:
    """A response as built once for a version of the data."""

    body: bytes
    etag: str
    kind: str
    lang: str
    status: int
    valid_until: datetime | None  # by the service's clock: when time alone changes the page
    made: float  # time.monotonic()


class PageCache:
    """Rendered pages in memory, keyed by the page, its parameters, its language, the day and
    the board's data version: readers of an unchanged page cost one render, and readers who
    arrive while it is being rendered wait for that one. An entry also ends when time alone
    would change the page (a dialogue starts or ends, a deadline passes: `valid_until`), and
    after MAX_AGE seconds whatever happens (what the board promises proxies anyway)."""

    def __init__(self, size: int = CACHE_ENTRIES, ttl: float = MAX_AGE):
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[tuple[Any, ...], Rendered] = OrderedDict()
        self._pending: dict[tuple[Any, ...], asyncio.Future[Rendered]] = {}
        self.renders = 0  # pages built (for the tests and the benchmark)

    def _fresh(self, key: tuple[Any, ...], now: datetime) -> Rendered | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.made > self.ttl or (
            entry.valid_until is not None and now >= entry.valid_until
        ):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def get(
        self, key: tuple[Any, ...], now: datetime, build: Callable[[], Awaitable[Rendered]]
    ) -> Rendered:
        entry = self._fresh(key, now)
        if entry is not None:
            return entry
        task = self._pending.get(key)
        if task is None:
            # A task of its own: a reader who goes away does not cancel the others' page.
            task = asyncio.ensure_future(self._build(key, build))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _build(
        self, key: tuple[Any, ...], build: Callable[[], Awaitable[Rendered]]
    ) -> Rendered:
        try:
            entry = await build()
        finally:
            del self._pending[key]
        self.renders += 1
        self._entries[key] = entry
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        self._entries.clear()


class DataVersion:
    """The board's data version (storage.board.version), read at most every VERSION_EVERY
    seconds, and again at once after this process committed a change the board shows."""

    def __init__(self, runtime: Runtime, every: float = VERSION_EVERY):
        self.runtime, self.every = runtime, every
        self._value: int | None = None
        self._read_at = 0.0
        self._local = -1

    async def get(self) -> int:
        local = board_counts.changes_committed()
        if (
            self._value is None
            or local != self._local
            or time.monotonic() - self._read_at >= self.every
        ):
            async with reading(self.runtime.sessions) as session:
                value = await store.version(session)
            self._value, self._read_at, self._local = value, time.monotonic(), local
        return self._value
