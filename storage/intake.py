"""The durable webhook inbox: an accepted event as a row until a worker has processed it.

The webhook stores the raw body and answers at once; a worker claims rows under a lease
(another process takes them over when it runs out), processes them, and deletes them, since a
row holds a person's text. The dispatcher's processed-update key makes processing once-only
whatever happens between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import IncomingEvent
from storage.upsert import upsert


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    body: bytes
    attempts: int  # this one included
    sender: str = ""
    received_at: datetime | None = None


async def store(
    session: AsyncSession,
    *,
    channel: str,
    key: str,
    body: bytes,
    now: datetime,
    sender: str = "",
) -> bool:
    """Keep an event unless one with the same key is kept already (a replay); True if new."""
    row = {
        "channel": channel,
        "key": key,
        "body": body,
        "received_at": now,
        "attempts": 0,
        "sender": sender,
    }
    result = await session.execute(
        upsert(session, IncomingEvent, keys=["channel", "key"], values=row)
    )
    return (result.rowcount or 0) == 1


async def claim(
    session: AsyncSession,
    *,
    channels: list[str],
    now: datetime,
    lease: timedelta,
    limit: int,
    max_attempts: int,
) -> tuple[list[Claimed], list[int]]:
    """Claim the oldest events nobody holds, for `lease`: (claimed, ids dropped).

    Only a person's oldest event is claimable: while an earlier one of theirs waits or is being
    processed (rows are deleted once processed), their later ones wait, so one person's
    messages are handled in the order they came even with several processes behind the
    webhook.

    An event already tried `max_attempts` times is deleted rather than claimed: whatever it
    holds keeps failing (or kept killing the process that took it). On PostgreSQL rows another
    worker is claiming are skipped; on SQLite the transaction's BEGIN IMMEDIATE serialises
    claimers.
    """
    earlier = aliased(IncomingEvent)
    rows = list(
        await session.scalars(
            select(IncomingEvent)
            .where(
                IncomingEvent.channel.in_(channels),
                or_(IncomingEvent.claimed_until.is_(None), IncomingEvent.claimed_until <= now),
                or_(
                    IncomingEvent.sender == "",
                    ~exists().where(
                        earlier.sender == IncomingEvent.sender, earlier.id < IncomingEvent.id
                    ),
                ),
            )
            .order_by(IncomingEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    claimed: list[Claimed] = []
    dropped: list[int] = []
    for row in rows:
        if row.attempts >= max_attempts:
            dropped.append(row.id)
            continue
        row.attempts += 1
        row.claimed_until = now + lease
        claimed.append(
            Claimed(row.id, row.channel, bytes(row.body), row.attempts, row.sender, row.received_at)
        )
    if dropped:
        await session.execute(delete(IncomingEvent).where(IncomingEvent.id.in_(dropped)))
    await session.flush()
    return claimed, dropped


async def finish(session: AsyncSession, *, event_id: int) -> None:
    """Processed: forget the event."""
    await session.execute(delete(IncomingEvent).where(IncomingEvent.id == event_id))


async def retry_later(session: AsyncSession, *, event_id: int, at: datetime) -> None:
    """Processing failed: leave the event for a later claim, not before `at`."""
    await session.execute(
        update(IncomingEvent)
        .where(IncomingEvent.id == event_id)
        .values(claimed_until=at)
        .execution_options(synchronize_session=False)
    )


async def pending(session: AsyncSession) -> int:
    """How many events wait (for health checks and tests)."""
    return await session.scalar(select(func.count()).select_from(IncomingEvent)) or 0
