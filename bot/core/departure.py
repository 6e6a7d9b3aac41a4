"""When a request to a platform really goes: what a channel tells the outbox while it sends.

The outbox keeps the platform's rate by slots, but the platform counts requests when they
reach it: between taking a slot and the request leaving lie the platform library's work and any
stall of the process, and a request that leaves late lands in the next second among requests
that left on time (the platform's 429). So while the outbox sends, it watches (`watching`): a
channel calls `leaving()` just before a request's first byte is written, which raises TooLate
if the send's first request would go too long after its slot (nothing has gone: it is safe to
try again), and `departed()` once a request's bytes are written, as late as it can tell. A
channel that calls neither is counted from when its send returned, which is later still.

HTTP channels get both from their client (bot/channels/http.py): nothing here knows a library.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class TooLate(Exception):
    """A send's first request stopped before anything was written: held up past its slot."""


class Watch(Protocol):
    """The outbox's eye on one send (bot/outbox_window.py)."""

    def leaving(self) -> None:
        """A request is about to be written: raise TooLate to stop it."""
        ...

    def departed(self) -> None:
        """A request has just been written."""
        ...


# The watch on the send running in this task (contextvars follow the task into the HTTP
# client's coroutines), or None outside a send.
_WATCH: ContextVar[Watch | None] = ContextVar("departure_watch", default=None)


def leaving() -> None:
    """Just before a request's first byte goes; raises TooLate if it may not (nothing outside
    a send)."""
    watch = _WATCH.get()
    if watch is not None:
        watch.leaving()


def departed() -> None:
    """A request of the send under way has just been written (the last call counts)."""
    watch = _WATCH.get()
    if watch is not None:
        watch.departed()


@contextmanager
def watching(watch: Watch) -> Iterator[None]:
    """Within the block, `leaving()` and `departed()` go to `watch`."""
    token = _WATCH.set(watch)
    try:
        yield
    finally:
        _WATCH.reset(token)


@contextmanager
def unwatched() -> Iterator[None]:
    """Within the block no request is watched: one a send makes on the way that is not its
    message (Zalo's token refresh), which must neither be stopped nor count as the send's."""
    token = _WATCH.set(None)
    try:
        yield
    finally:
        _WATCH.reset(token)
