"""Helpers for the outbox resilience tests and the benchmarks: a broadcast in the outbox, the
real `doithoai run` as a child process, and what the database says about the rows.

Each broadcast message carries its idempotency key in its text, so whatever receives it (the
HTTP fake of the Bot API) can tell the messages apart and count each one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.departure import TooLate
from bot.core.messages import Reply
from storage import outbox
from storage.db import create_engine, session_factory
from storage.models import OutboxMessage, RateBudget, RecipientPace

ROOT = Path(__file__).resolve().parents[2]
IN_FLIGHT_STATES = ("pending", "claimed", "sending")


def utcnow() -> datetime:
    return datetime.now(UTC)


def broadcast_text(key: str) -> str:
    return f"Thông báo đối thoại chính sách <{key}>"


def key_in(text: str) -> str:
    """The idempotency key a received broadcast text carries."""
    start = text.rindex("<") + 1
    return text[start : text.index(">", start)]


async def enqueue_broadcast(
    sessions: async_sessionmaker[AsyncSession],
    recipients: Sequence[int],
    *,
    prefix: str = "broadcast",
    channel: str = "telegram",
    now: datetime | None = None,
) -> list[str]:
    """One outbox row per recipient (a recipient may appear several times, each message with
    its own key), through the outbox's own `enqueue_many`; returns the keys in order."""
    seen: Counter[int] = Counter()
    messages = []
    for recipient in recipients:
        seen[recipient] += 1
        key = f"{prefix}:{recipient}:{seen[recipient]}"
        messages.append(
            outbox.Outgoing(
                key=key,
                channel=channel,
                recipient=str(recipient),
                body=Reply(text=broadcast_text(key)).to_json(),
            )
        )
    async with sessions() as session, session.begin():
        added = await outbox.enqueue_many(session, messages=messages, now=now or utcnow())
    assert added == len(messages), (added, len(messages))
    return [m.key for m in messages]


async def bulk_enqueue(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    prefix: str = "bulk",
    channel: str = "telegram",
    first_recipient: int = 1,
    batch: int = 10_000,
) -> None:
    """`count` messages to distinct recipients, a few INSERTs at a time (for very large
    broadcasts: the messages are built a batch at a time, not all at once)."""
    now = utcnow()
    for start in range(0, count, batch):
        messages = []
        for n in range(start, min(start + batch, count)):
            key = f"{prefix}:{n}"
            messages.append(
                outbox.Outgoing(
                    key=key,
                    channel=channel,
                    recipient=str(first_recipient + n),
                    body=Reply(text=broadcast_text(key)).to_json(),
                )
            )
        async with sessions() as session, session.begin():
            await outbox.enqueue_many(session, messages=messages, now=now)


async def status_counts(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        return Counter(await outbox.counts(session))


async def statuses_by_key(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.key, OutboxMessage.status))
        return {key: status for key, status in rows}


async def in_flight(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(IN_FLIGHT_STATES))
            )
            or 0
        )


async def age_leases(sessions: async_sessionmaker[AsyncSession], *, by: timedelta) -> int:
    """Move every lease `by` into the past, as if that much time had gone by since the rows
    were claimed (what a restart long after a crash would find); returns how many rows."""
    async with sessions() as session, session.begin():
        rows = list(
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.lease_until).where(
                    OutboxMessage.lease_until.is_not(None)
                )
            )
        )
        for row_id, lease_until in rows:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(lease_until=lease_until - by)
            )
        return len(rows)


async def clean_outbox(url: str) -> None:
    """Remove what these tests put in a shared database (PostgreSQL's `test`)."""
    from sqlalchemy import delete

    engine = create_engine(url)
    async with engine.begin() as connection:
        for table in (OutboxMessage, RateBudget, RecipientPace):
            await connection.execute(delete(table))
    await engine.dispose()


class Service:
    """`doithoai run` in a child process, as an operator would start it."""

    def __init__(
        self,
        *,
        database_url: str,
        api_url: str,
        token: str,
        workdir: Path,
        rate: float = 25.0,
        chat_interval: float = 1.0,
        name: str = "service",
    ):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
        self.env.update(
            {
                "DOITHOAI_DATABASE_URL": database_url,
                "DOITHOAI_SECRET_KEY": secrets.token_hex(32),
                "DOITHOAI_TELEGRAM_TOKEN": token,
                "DOITHOAI_TELEGRAM_API_URL": api_url,
                "DOITHOAI_TELEGRAM_RATE": str(rate),
                "DOITHOAI_TELEGRAM_CHAT_INTERVAL": str(chat_interval),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.workdir = workdir  # no .env there: only the settings above apply
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "run"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, like a power cut or the OOM killer."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM and wait (the graceful way out); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "") -> None:
    """Await until the async predicate holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        await asyncio.sleep(interval)


async def deliver_all(outbox, sessions, channel: str, *, timeout: float = 3600) -> int:
    """Drain `channel` again and again, as `Outbox.run` does, until no row is left pending,
    claimed or sending (a drain returns when nothing more is due *now*: a row held back for
    its person's pace, or for a throttle, is due a little later); how many were sent."""
    sent = 0
    deadline = time.monotonic() + timeout
    while True:
        sent += await outbox.drain(channel)
        if await in_flight(sessions) == 0:
            return sent
        if time.monotonic() > deadline:
            raise AssertionError(f"rows still to deliver after {timeout} s")
        await asyncio.sleep(0.05)


def sessions_for(url: str):
    engine = create_engine(url)
    return engine, session_factory(engine)


def duplicates(keys: Iterable[str]) -> dict[str, int]:
    return {key: n for key, n in Counter(keys).items() if n > 1}


class RecordingWatch:
    """The outbox's eye on a send (bot/core/departure.py) as a test holds it: records what the
    channel told it, and stops the first request when told to."""

    def __init__(self, *, stop: bool = False) -> None:
        self.calls: list[str] = []
        self.stop = stop

    def leaving(self) -> None:
        self.calls.append("leaving")
        if self.stop:
            raise TooLate("held up past its slot")

    def departed(self) -> None:
        self.calls.append("departed")
