"""A row through its sending: claimed within the channel's budget, marked sending, given
back, finished, retried later, or recovered from a dead process (storage/outbox.py tells the
states)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import OutboxMessage, RecipientPace
from storage.outbox_budget import _budget_moved, _budget_next, _slots
from storage.outbox_rows import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    HELD,
    LEASE_CLAIMED,
    LEASE_SENDING,
    MAX_ATTEMPTS,
    RESENDABLE,
    ROWS,
    Claimed,
    Status,
    _forgotten_recipient,
    _insert,
    forgotten,
    kept_body,
)


@dataclass(frozen=True)
class Claim:
    """What one claim took: the messages, one sending slot each (in order), and, when some
    person's message was held back for their pace, when it may be claimed."""

    messages: list[Claimed]
    slots: list[datetime]
    retry_at: datetime | None = None
    full: bool = False  # as many as the budget had room for: there may be more


PACES = RecipientPace.__table__


def _due(channel: str, now: datetime):  # type: ignore[no-untyped-def]
    """Pending rows of `channel` that are due, whose person has none held and whose pace
    allows one now."""
    held = aliased(OutboxMessage)
    return (
        select(OutboxMessage.id, OutboxMessage.recipient)
        .outerjoin(
            RecipientPace,
            and_(
                RecipientPace.channel == OutboxMessage.channel,
                RecipientPace.user_id == OutboxMessage.recipient,
            ),
        )
        .where(
            OutboxMessage.status == Status.PENDING,
            OutboxMessage.channel == channel,
            OutboxMessage.not_before <= now,
            or_(RecipientPace.next_at.is_(None), RecipientPace.next_at <= now),
            ~exists().where(
                held.channel == OutboxMessage.channel,
                held.recipient == OutboxMessage.recipient,
                held.status.in_(HELD),
            ),
        )
    )


async def claim_due(
    session: AsyncSession,
    *,
    channel: str,
    now: datetime,
    interval: timedelta,
    limit: int,
    horizon: timedelta = timedelta(seconds=1),
) -> Claim:
    """Claim the due rows that fit in the channel's budget over the next `horizon`, highest
    priority first, at most one per person; each gets a slot, 1/rate apart across every
    process. Rows are marked "claimed" with a token and a lease; the caller commits, then
    marks each "sending" just before its slot (`mark_sending`)."""
    first = max(now, await _budget_next(session, channel=channel, now=now))
    room = min(limit, int((now + horizon - first) / interval) + 1)
    if room <= 0:  # other processes hold the budget's next `horizon`: come back then
        return Claim([], [], retry_at=first - horizon)
    query = _due(channel, now).order_by(OutboxMessage.priority, OutboxMessage.id).limit(room * 2)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=OutboxMessage, skip_locked=True)
    connection = await session.connection()
    chosen: dict[str, int] = {}  # one per person: their oldest, of the highest priority
    for row_id, recipient in await connection.execute(query):
        if len(chosen) < room:
            chosen.setdefault(recipient, row_id)
    token = secrets.token_hex(8)
    messages: list[Claimed] = []
    if chosen:
        claimed = await connection.execute(
            update(ROWS)
            .where(ROWS.c.id.in_(list(chosen.values())))
            .values(status=Status.CLAIMED, claim=token, lease_until=now + LEASE_CLAIMED)
            .returning(
                ROWS.c.id,
                ROWS.c.recipient,
                ROWS.c.body,
                ROWS.c.key,
                ROWS.c.priority,
                ROWS.c.attempts,
            )
        )
        messages = [
            Claimed(row_id, channel, recipient, dict(body or {}), token, key, priority, attempts)
            for row_id, recipient, body, key, priority, attempts in claimed
        ]
        messages.sort(key=lambda m: (m.priority, m.id))
    slots = _slots(first, interval, len(messages))
    if slots:
        await _budget_moved(session, channel=channel, to=slots[-1] + interval)
    full = len(messages) == room
    retry_at = None if full else await _paced_until(session, channel, now)
    return Claim(messages, slots, retry_at, full)


async def _paced_until(session: AsyncSession, channel: str, now: datetime) -> datetime | None:
    """When the first due row held back by its person's pace may go."""
    return await session.scalar(
        select(func.min(RecipientPace.next_at))
        .join(
            OutboxMessage,
            and_(
                RecipientPace.channel == OutboxMessage.channel,
                RecipientPace.user_id == OutboxMessage.recipient,
            ),
        )
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == Status.PENDING,
            OutboxMessage.not_before <= now,
            RecipientPace.next_at > now,
        )
    )


async def anything_due(session: AsyncSession, *, channel: str, now: datetime) -> bool:
    """Whether a claim could find something now: one indexed read, no lock taken."""
    return (await session.scalar(select(_due(channel, now).limit(1).exists()))) or False


async def mark_sending(
    session: AsyncSession, *, messages: Iterable[Claimed], now: datetime
) -> set[int]:
    """Just before their HTTP calls: the ids still ours (a lease that ran out voids a claim)."""
    marked: set[int] = set()
    by_claim: dict[str, list[int]] = {}
    for message in messages:
        by_claim.setdefault(message.claim, []).append(message.id)
    connection = await session.connection()
    for token, ids in by_claim.items():
        result = await connection.execute(
            update(ROWS)
            .where(ROWS.c.id.in_(ids), ROWS.c.status == Status.CLAIMED, ROWS.c.claim == token)
            .values(status=Status.SENDING, send_at=now, lease_until=now + LEASE_SENDING)
            .returning(ROWS.c.id)
        )
        marked.update(result.scalars())
    return marked


async def give_back(session: AsyncSession, *, messages: Iterable[Claimed]) -> None:
    """Rows a process claimed (or marked sending) and did not send: pending again, at once."""
    ids = [m.id for m in messages]
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status.in_(HELD))
            .values(status=Status.PENDING, claim=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Finished:
    """A final outcome to record: status sent, failed, unreachable, unknown or window."""

    message: Claimed
    status: Status
    at: datetime
    reason: str = ""


_FINISH = (
    update(ROWS)
    .where(ROWS.c.id == bindparam("row_id"))
    .values(
        status=bindparam("to_status"),
        body=bindparam("to_body"),
        # A recipient forgotten while the row was on the wire stays forgotten.
        recipient=case((ROWS.c.recipient == "", ""), else_=bindparam("to_recipient")),
        sent_at=bindparam("to_sent_at"),
        error=bindparam("to_error"),
        lease_until=None,
        claim=None,
    )
)


async def finish_many(
    session: AsyncSession, *, finished: list[Finished], spacing: timedelta
) -> None:
    """Record final outcomes in one statement, and each person's pace (their next message no
    sooner than `spacing` after this one's send finished) in another."""
    if not finished:
        return
    connection = await session.connection()
    await connection.execute(
        _FINISH,
        [
            {
                "row_id": f.message.id,
                "to_status": f.status,
                "to_body": kept_body(f.message.key, f.status, f.message.body),
                "to_recipient": forgotten(f.message.key, f.message.recipient),
                "to_sent_at": f.at if f.status is Status.SENT else None,
                "to_error": f.reason[:500] or None,
            }
            for f in finished
        ],
    )
    paces = {(f.message.channel, f.message.recipient): f.at + spacing for f in finished}
    statement = _insert(session)(PACES)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "user_id"], set_={"next_at": statement.excluded.next_at}
        ),
        [{"channel": c, "user_id": u, "next_at": at} for (c, u), at in paces.items()],
    )


def backoff(attempts: int) -> timedelta:
    """The wait before try number `attempts + 1`: doubling from BACKOFF_FIRST, capped."""
    return min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1))


async def retry_later(
    session: AsyncSession, *, message: Claimed, not_before: datetime, reason: str
) -> bool:
    """Count a failed try: pending again from `not_before`, or failed for good once it has
    been tried MAX_ATTEMPTS times. True if it will be tried again."""
    attempts = message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        reason = f"gave up after {attempts} attempts: {reason}"
        values: dict[str, Any] = {
            "status": Status.FAILED,
            "body": None,
            "recipient": forgotten(message.key, message.recipient),
        }
    else:
        # Not again to a recipient forgotten meanwhile (forget_recipient).
        gone = OutboxMessage.recipient == ""
        values = {
            "status": case((gone, Status.FAILED), else_=Status.PENDING),
            "body": case((gone, None), else_=OutboxMessage.body),
            "not_before": not_before,
        }
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(attempts=attempts, claim=None, lease_until=None, error=reason[:500], **values)
        .execution_options(synchronize_session=False)
    )
    return attempts < MAX_ATTEMPTS


async def mark_recipient_unreachable(
    session: AsyncSession, *, channel: str, recipient: str, reason: str
) -> int:
    """Every message waiting for this person: never to be tried (they blocked us)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == Status.PENDING,
        )
        .values(
            status=Status.UNREACHABLE,
            body=None,
            lease_until=None,
            error=reason[:500],
            recipient=_forgotten_recipient(),
        )
    )
    return result.rowcount or 0


async def expire_leases(session: AsyncSession, *, now: datetime) -> int:
    """Recover what a dead process held (run by the clock's tick, not on every claim).

    A row still "claimed" was never handed to the platform: it goes back to pending. A row
    still "sending" may or may not have arrived: its fate is unknown, and it is not resent.
    """
    returned = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Status.CLAIMED, OutboxMessage.lease_until < now)
        .values(status=Status.PENDING, claim=None, lease_until=None)
    )
    lost = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Status.SENDING, OutboxMessage.lease_until < now)
        .values(
            status=Status.UNKNOWN,
            body=case(
                (or_(*(OutboxMessage.key.startswith(p) for p in RESENDABLE)), OutboxMessage.body),
                else_=None,
            ),
            lease_until=None,
            claim=None,
            error="cut off while sending: it may or may not have arrived",
            recipient=_forgotten_recipient(),
        )
    )
    return (returned.rowcount or 0) + (lost.rowcount or 0)
