"""The outbox: every outgoing message as a row, claimed, sent once, its outcome recorded.

A row goes pending -> sending (committed before the HTTP call) -> sent | failed | unreachable
| unknown, or back to pending after a throttle. A row found still "sending" after its lease
has expired was cut off mid-call: it may have arrived, so it becomes "unknown" and is reported,
never resent by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage

PRIORITY_REPLY = 0
PRIORITY_REMINDER = 10
PRIORITY_BROADCAST = 20

LEASE = timedelta(seconds=60)


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    recipient: str,
    body: dict[str, Any],
    now: datetime,
    priority: int = PRIORITY_REPLY,
) -> bool:
    """Add a message unless one with this idempotency key exists; True if added."""
    exists = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))
    if exists is not None:
        return False
    session.add(
        OutboxMessage(
            key=key,
            channel=channel,
            recipient=recipient,
            priority=priority,
            body=body,
            status="pending",
            attempts=0,
            not_before=now,
            created_at=now,
        )
    )
    await session.flush()
    return True


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    body: dict[str, Any]


async def claim_due(
    session: AsyncSession, *, channel: str, now: datetime, limit: int = 20
) -> list[Claimed]:
    """Mark up to `limit` due rows "sending" under a lease, highest priority first.

    On PostgreSQL the rows are locked with SKIP LOCKED so that several processes claim
    disjoint rows; SQLite's BEGIN IMMEDIATE already gives this transaction the whole file.
    The caller commits before sending.
    """
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == "pending",
            OutboxMessage.not_before <= now,
        )
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    claimed = []
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        row.lease_until = now + LEASE
        claimed.append(Claimed(row.id, row.channel, row.recipient, dict(row.body or {})))
    await session.flush()
    return claimed


# In every final state the body is dropped: the database keeps that a message went (or not)
# and to whom, never what it said beside whom it was for (receipts name tickets; the chat
# itself holds the text).


async def mark_sent(session: AsyncSession, *, message_id: int, now: datetime) -> None:
    await _finish(session, message_id, status="sent", sent_at=now, body=None, error=None)


async def mark_unknown(session: AsyncSession, *, message_id: int, reason: str) -> None:
    await _finish(session, message_id, status="unknown", body=None, error=reason[:500])


async def mark_failed(session: AsyncSession, *, message_id: int, reason: str) -> None:
    await _finish(session, message_id, status="failed", body=None, error=reason[:500])


async def mark_retry(
    session: AsyncSession, *, message_id: int, not_before: datetime, reason: str
) -> None:
    await _finish(session, message_id, status="pending", not_before=not_before, error=reason[:500])


async def mark_recipient_unreachable(
    session: AsyncSession, *, channel: str, recipient: str, message_id: int, reason: str
) -> int:
    """This message and every other one waiting for the same person: never to be retried."""
    await _finish(session, message_id, status="unreachable", body=None, error=reason[:500])
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == "pending",
        )
        .values(status="unreachable", body=None, lease_until=None, error=reason[:500])
    )
    return result.rowcount or 0


async def _finish(session: AsyncSession, message_id: int, **values: Any) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )


async def expire_leases(session: AsyncSession, *, now: datetime) -> int:
    """Rows left "sending" by a process that died mid-call: their fate is unknown."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
        .values(status="unknown", body=None, lease_until=None, error="lease expired during sending")
    )
    return result.rowcount or 0


async def drop_pending_to(session: AsyncSession, *, channel: str, recipient: str) -> int:
    """Forget what was waiting for someone who deleted their data (their last reply is added after)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == "pending",
        )
        .values(status="failed", body=None, error="recipient deleted their data")
    )
    return result.rowcount or 0


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows}


async def next_due(session: AsyncSession, *, channel: str) -> datetime | None:
    return await session.scalar(
        select(func.min(OutboxMessage.not_before)).where(
            OutboxMessage.channel == channel, OutboxMessage.status == "pending"
        )
    )
