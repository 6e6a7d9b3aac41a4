"""What the organiser is shown of the outbox: rows by status, those whose outcome is
unknown, and sending those again when the organiser decides to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.outbox_rows import (
    IN_FLIGHT,
    Status,
    key_range,
)


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows by status, the whole table (for tests and small databases)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows}


async def waiting(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows not yet final, and unknown ones: an index range (the statuses
    that stay few), however large the table."""
    rows = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_((*IN_FLIGHT, Status.UNKNOWN)))
        .group_by(OutboxMessage.channel, OutboxMessage.status)
    )
    return {(channel, status): n for channel, status, n in rows}


async def status_counts(session: AsyncSession, *, prefix: str) -> dict[str, int]:
    """Rows by status among those whose key starts with `prefix` (one dialogue's invitations,
    say): a range of the key's index."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(key_range(prefix))
        .group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows}


async def unknown(session: AsyncSession, *, prefixes: list[str] | None = None) -> list[tuple]:
    """(id, key, channel, recipient, created_at, resendable) of rows whose outcome is unknown,
    the oldest first; only keys starting with one of `prefixes` when given."""
    query = select(
        OutboxMessage.id,
        OutboxMessage.key,
        OutboxMessage.channel,
        OutboxMessage.recipient,
        OutboxMessage.created_at,
        OutboxMessage.body.is_not(None),
    ).where(OutboxMessage.status == Status.UNKNOWN)
    if prefixes:
        query = query.where(or_(*(key_range(prefix) for prefix in prefixes)))
    return list(await session.execute(query.order_by(OutboxMessage.id)))


async def resend(session: AsyncSession, *, ids: list[int], now: datetime) -> list[int]:
    """The organiser decided: send these unknown rows again (those that kept their body: a
    household's invitation, reminders and notices); returns the ids made pending."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == Status.UNKNOWN,
            OutboxMessage.body.is_not(None),
        )
        .values(status=Status.PENDING, not_before=now, attempts=0, error=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())
