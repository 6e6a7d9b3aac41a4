"""The outbox: every outgoing message as a row, claimed, sent once, its outcome recorded.

A row goes pending -> claimed (a slot in the shared rate budget) -> sending (committed just
before the HTTP call) -> sent | failed | unreachable | unknown | window, or back to pending
after a throttle. A row found still "claimed" after its lease was never sent and goes back to
pending; one still "sending" was cut off mid-call: it may have arrived, so it becomes "unknown"
and is reported, never resent by itself.

"window": the platform takes messages to a person only for a while after they last wrote to
us (Zalo); such a row is never retried on its channel, and a copy keyed KEY:via:CHANNEL may go
to the household's chat on another channel.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, RateBudget, RecipientPace

PRIORITY_REPLY = 0
PRIORITY_REMINDER = 10
PRIORITY_BROADCAST = 20

LEASE = timedelta(seconds=30)


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
class Outgoing:
    """A message to add with enqueue_many."""

    key: str
    channel: str
    recipient: str
    body: dict[str, Any]
    priority: int = PRIORITY_BROADCAST


async def enqueue_many(session: AsyncSession, *, messages: list[Outgoing], now: datetime) -> int:
    """Add many messages at once; those whose key exists already are left as they are.

    Returns how many were new. Bulk inserts in chunks, so that a broadcast to a whole
    province is one statement per few thousand rows rather than a round trip each.
    """
    if not messages:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    before = await session.scalar(select(func.count()).select_from(OutboxMessage))
    statement = insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["key"])
    connection = await session.connection()
    for start in range(0, len(messages), 5000):
        # executemany: SQLAlchemy batches it into multi-row INSERTs without compiling each.
        await connection.execute(
            statement,
            [
                {
                    "key": m.key,
                    "channel": m.channel,
                    "recipient": m.recipient,
                    "priority": m.priority,
                    "body": m.body,
                    "status": "pending",
                    "attempts": 0,
                    "not_before": now,
                    "created_at": now,
                }
                for m in messages[start : start + 5000]
            ],
        )
    after = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return (after or 0) - (before or 0)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    body: dict[str, Any]
    claim: str
    send_at: datetime
    key: str = ""
    priority: int = PRIORITY_REPLY


async def _budget(session: AsyncSession, *, channel: str, now: datetime) -> RateBudget:
    """The channel's budget row, locked for this transaction (created on first use)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(RateBudget).values(channel=channel, next_at=now).on_conflict_do_nothing()
    )
    query = select(RateBudget).where(RateBudget.channel == channel)
    if dialect == "postgresql":
        # Every claimer of a channel queues here: one budget, whatever the number of processes.
        query = query.with_for_update()
    budget = await session.scalar(query.execution_options(populate_existing=True))
    assert budget is not None
    return budget


async def claim_due(
    session: AsyncSession,
    *,
    channel: str,
    now: datetime,
    rate: float,
    spacing: timedelta = timedelta(seconds=1),
    horizon: timedelta = timedelta(seconds=1),
    limit: int | None = None,
) -> list[Claimed]:
    """Claim the due rows that fit in the channel's budget over the next `horizon`.

    Each claimed row gets a slot `send_at`: slots are 1/rate apart across every process (the
    budget row is locked while slots are handed out), and a recipient gets no slot sooner than
    `spacing` after their previous one. Rows are marked "claimed" with a token and a lease; the
    caller commits, then sends each at its slot after `mark_sending`. Highest priority first.
    """
    budget = await _budget(session, channel=channel, now=now)
    interval = timedelta(seconds=1 / rate)
    slot = max(now, budget.next_at)
    room = int((now + horizon - slot) / interval) + 1
    if limit is not None:
        room = min(room, limit)
    if room <= 0:
        return []
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status == "pending",
                OutboxMessage.not_before <= now,
            )
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(room * 2)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite ignores it
        )
    )
    if not rows:
        return []
    recipients = {row.recipient for row in rows}
    paces = {
        pace.user_id: pace
        for pace in await session.scalars(
            select(RecipientPace).where(
                RecipientPace.channel == channel, RecipientPace.user_id.in_(recipients)
            )
        )
    }
    token = secrets.token_hex(8)
    claimed: list[Claimed] = []
    for row in rows:
        if len(claimed) >= room:
            break
        pace = paces.get(row.recipient)
        if pace is not None and pace.next_at > slot:
            # Too soon for this person: leave it for a later claim, without blocking others.
            row.not_before = pace.next_at
            continue
        row.status = "claimed"
        row.claim = token
        row.send_at = slot
        row.lease_until = slot + LEASE
        claimed.append(
            Claimed(
                row.id,
                row.channel,
                row.recipient,
                dict(row.body or {}),
                token,
                slot,
                row.key,
                row.priority,
            )
        )
        if pace is None:
            pace = RecipientPace(channel=channel, user_id=row.recipient, next_at=slot + spacing)
            session.add(pace)
            paces[row.recipient] = pace
        else:
            pace.next_at = slot + spacing
        slot += interval
    budget.next_at = slot
    await session.flush()
    return claimed


async def mark_sending(session: AsyncSession, *, message: Claimed, now: datetime) -> bool:
    """Just before the HTTP call: False if the claim was lost (its lease ran out meanwhile)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == "claimed",
            OutboxMessage.claim == message.claim,
        )
        .values(status="sending", lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


# In every final state the body is dropped: the database keeps that a message went (or not)
# and to whom, never what it said beside whom it was for (receipts name tickets; the chat
# itself holds the text).


async def mark_sent(session: AsyncSession, *, message_id: int, now: datetime) -> None:
    await _finish(session, message_id, status="sent", sent_at=now, body=None, error=None)


async def mark_unknown(session: AsyncSession, *, message_id: int, reason: str) -> None:
    await _finish(session, message_id, status="unknown", body=None, error=reason[:500])


async def mark_failed(session: AsyncSession, *, message_id: int, reason: str) -> None:
    await _finish(session, message_id, status="failed", body=None, error=reason[:500])


async def mark_window(session: AsyncSession, *, message_id: int, reason: str) -> None:
    """Stopped by the platform's window: final on this channel (see `deliver_another_way`)."""
    await _finish(session, message_id, status="window", body=None, error=reason[:500])


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
        .values(
            status="unreachable",
            body=None,
            lease_until=None,
            error=reason[:500],
            recipient=_forgotten_recipient(),
        )
    )
    return result.rowcount or 0


SEALED = "sealed:"


def _forgotten_recipient() -> Any:
    """The recipient a final row keeps: none for "sealed:" rows, the news of a question sent to
    its asker and followers, where the address beside the day would say who followed it."""
    return case((OutboxMessage.key.startswith(SEALED), ""), else_=OutboxMessage.recipient)


async def _finish(session: AsyncSession, message_id: int, **values: Any) -> None:
    if values.get("status") != "pending":
        values["recipient"] = _forgotten_recipient()
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(lease_until=None, claim=None, **values)
        .execution_options(synchronize_session=False)
    )


async def expire_leases(session: AsyncSession, *, now: datetime) -> int:
    """Recover what a dead process held.

    A row still "claimed" was never handed to the platform: it goes back to pending. A row
    still "sending" may or may not have arrived: its fate is unknown, and it is not resent.
    """
    returned = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "claimed", OutboxMessage.lease_until < now)
        .values(status="pending", claim=None, send_at=None, lease_until=None)
    )
    lost = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
        .values(
            status="unknown",
            body=None,
            lease_until=None,
            error="lease expired during sending",
            recipient=_forgotten_recipient(),
        )
    )
    return (returned.rowcount or 0) + (lost.rowcount or 0)


async def prune_paces(session: AsyncSession, *, now: datetime) -> int:
    """Forget the pace of people who have not been sent anything for a while."""
    result = await session.execute(
        delete(RecipientPace).where(RecipientPace.next_at < now - timedelta(minutes=5))
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


# Final states in which the message did not reach the person.
UNDELIVERED = ("window", "unreachable", "failed")
VIA = ":via:"
# What may go to a household's other chat: its invitation, reminders and notices
# (handlers.invitations) and the news of questions (handlers.pushback), which go to the
# household's chats anyway. Not staff messages (a role belongs to one chat) nor replies.
REROUTABLE = ("invite:", "remind:", "moved:", "cancelled:", SEALED)


def via_key(key: str, channel: str) -> str:
    """The key of a message's copy sent through another channel: once per channel."""
    return f"{key}{VIA}{channel}"


async def deliver_another_way(
    session: AsyncSession, *, message: Claimed, channel: str, recipient: str, now: datetime
) -> bool:
    """Enqueue the same message to another chat (the household's on another channel), keyed
    KEY:via:CHANNEL so that it goes once; called before the row's body is dropped. A copy is
    never sent on again: a message takes one detour at most. True if the copy is new."""
    if VIA in message.key or not message.key.startswith(REROUTABLE) or not message.body:
        return False
    return await enqueue(
        session,
        key=via_key(message.key, channel),
        channel=channel,
        recipient=recipient,
        body=message.body,
        now=now,
        priority=message.priority,
    )
