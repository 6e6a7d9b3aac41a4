"""The rate budget: a row per channel, the next free sending slot, shared by every process.

Slots are granted one per message claimed, `interval` apart (the caller's: a little over
1/rate, bot/outbox.py's BUDGET_WINDOW / rate); a process sends at most one message per slot it
holds, never before the slot and never long after it (bot/outbox.py), so that several
processes together keep the platform's rate in every second."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateBudget
from storage.outbox_rows import _insert

BUDGETS = RateBudget.__table__


async def _budget_next(session: AsyncSession, *, channel: str, now: datetime) -> datetime:
    """The channel's next free slot, its row locked for this transaction (created on first
    use): one statement. Every claimer of a channel queues here, whatever the number of
    processes (on SQLite the transaction's BEGIN IMMEDIATE already serialises them)."""
    statement = _insert(session)(BUDGETS).values(channel=channel, next_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["channel"], set_={"channel": statement.excluded.channel}
    ).returning(BUDGETS.c.next_at)
    connection = await session.connection()
    return (await connection.execute(statement)).scalar_one()


async def _budget_moved(session: AsyncSession, *, channel: str, to: datetime) -> None:
    connection = await session.connection()
    await connection.execute(update(BUDGETS).where(BUDGETS.c.channel == channel).values(next_at=to))


def _slots(first: datetime, interval: timedelta, count: int) -> list[datetime]:
    return [first + interval * n for n in range(count)]


async def grant_slots(
    session: AsyncSession, *, channel: str, now: datetime, interval: timedelta, count: int
) -> list[datetime]:
    """`count` more sending slots from the shared budget, for messages already claimed whose
    slots went by unused (a stalled process): the budget never gives a slot twice."""
    next_at = await _budget_next(session, channel=channel, now=now)
    slots = _slots(max(now, next_at), interval, count)
    if slots:
        await _budget_moved(session, channel=channel, to=slots[-1] + interval)
    return slots
