"""What the outbox forgets: a person's pace after a while, what waited for someone who
deleted their data and their address, old replies and processed-update keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, ProcessedUpdate, RecipientPace
from storage.outbox_rows import (
    IN_FLIGHT,
    PRUNABLE,
    Status,
    key_range,
)


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
            OutboxMessage.status == Status.PENDING,
        )
        .values(status=Status.FAILED, body=None, error="recipient deleted their data")
    )
    return result.rowcount or 0


FORGOTTEN = "recipient deleted their data"


async def forget_recipient(session: AsyncSession, *, channel: str, recipient: str) -> int:
    """Erase a chat's address from the outbox, as "sealed:" rows are once final: what was
    waiting for it (or had an unknown fate that an organiser could resend) is failed and
    dropped, and every other row keeps an empty recipient, those on the wire too (their
    outcome is recorded without it, and they are not tried again). How many rows changed."""
    at = (OutboxMessage.channel == channel, OutboxMessage.recipient == recipient)
    # Waiting, claimed but not yet sending (mark_sending then skips it), or of unknown fate.
    waiting = await session.execute(
        update(OutboxMessage)
        .where(*at, OutboxMessage.status.in_((Status.PENDING, Status.CLAIMED, Status.UNKNOWN)))
        .values(
            status=Status.FAILED,
            body=None,
            recipient="",
            claim=None,
            lease_until=None,
            error=FORGOTTEN,
        )
        .execution_options(synchronize_session=False)
    )
    # Finished, or on the wire (its outcome is then recorded without the address).
    finished = await session.execute(
        update(OutboxMessage)
        .where(*at)
        .values(
            recipient="",
            body=case((OutboxMessage.status == Status.SENDING, OutboxMessage.body), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    return (waiting.rowcount or 0) + (finished.rowcount or 0)


async def prune(session: AsyncSession, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` finished replies and processed-update keys older than `before`;
    how many rows went (call again while it returns `batch`)."""
    old_replies = (
        select(OutboxMessage.id)
        .where(
            key_range(PRUNABLE),
            OutboxMessage.status.not_in(IN_FLIGHT),
            OutboxMessage.created_at < before,
        )
        .limit(batch)
    )
    replies = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(old_replies.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    old_keys = (
        select(ProcessedUpdate.channel, ProcessedUpdate.key)
        .where(ProcessedUpdate.processed_at < before)
        .limit(batch)
    )
    keys = await session.execute(
        delete(ProcessedUpdate)
        .where(tuple_(ProcessedUpdate.channel, ProcessedUpdate.key).in_(old_keys))
        .execution_options(synchronize_session=False)
    )
    return max(replies.rowcount or 0, keys.rowcount or 0)
