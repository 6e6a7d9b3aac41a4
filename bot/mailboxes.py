"""Work for different people at once, each person's strictly in order.

Each person's mailbox is worked through in the order jobs were put, one at a time; mailboxes of
different people run concurrently, at most `limit` jobs at once (more would only queue on the
database). Polling and webhook mode both take updates in this way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

CONCURRENCY = 16  # jobs (transactions) at once
BACKLOG = 2000  # jobs waiting in memory before taking more in waits

Job = Callable[[], Awaitable[object]]


class Mailboxes:
    """One queue per person, worked through in order; different people concurrently."""

    def __init__(self, *, limit: int = CONCURRENCY, backlog: int = BACKLOG):
        self._boxes: dict[Hashable, deque[Job]] = {}
        self._running = asyncio.Semaphore(limit)
        self._workers: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.backlog = backlog
        self.waiting = 0  # jobs put and not finished

    def put(self, key: Hashable, job: Job) -> None:
        """Queue `job` behind the person's earlier ones. Not a coroutine: the order of calls is
        the order of processing."""
        self.waiting += 1
        box = self._boxes.get(key)
        if box is not None:
            box.append(job)
            return
        self._boxes[key] = deque([job])
        worker = asyncio.create_task(self._work(key))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, key: Hashable) -> None:
        box = self._boxes[key]
        try:
            while box:
                async with self._running:
                    try:
                        await box[0]()
                    except Exception:
                        log.exception("an incoming update could not be processed")
                box.popleft()
                self.waiting -= 1
                self._changed.set()
        finally:
            if self._boxes.get(key) is box:
                del self._boxes[key]
            self.waiting -= len(box)

    async def room(self) -> None:
        """Wait while the backlog is full (polling then fetches no more for a while)."""
        while self.waiting >= self.backlog:
            self._changed.clear()
            await self._changed.wait()

    async def join(self) -> None:
        """Wait until every job put so far has run."""
        while self.waiting:
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
