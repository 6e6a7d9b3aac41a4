"""Reminders as rows: one per dialogue and offset before its start, each fired exactly once.

A tick claims the due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)
and marks them in the same transaction that writes their messages to the outbox, so neither a
restart nor a second process fires one twice. A reminder is never sent after the start; when
several of a dialogue are due at once (the service was down), only the last one is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import DialogueStatus, ReminderStatus, sources, transition
from storage.models import Dialogue, Reminder


async def schedule(
    session: AsyncSession, *, dialogue: Dialogue, offsets: list[timedelta], now: datetime
) -> int:
    """Create the dialogue's pending reminders for its current start (those still ahead)."""
    assert dialogue.starts_at is not None
    created = 0
    for offset in offsets:
        due = dialogue.starts_at - offset
        key = f"{dialogue.id}:{int(offset.total_seconds() // 60)}:{dialogue.starts_at.isoformat()}"
        if due <= now:
            continue
        exists = await session.scalar(select(Reminder.id).where(Reminder.key == key))
        if exists is None:
            session.add(
                Reminder(
                    key=key,
                    dialogue_id=dialogue.id,
                    before_minutes=int(offset.total_seconds() // 60),
                    due_at=due,
                    status=ReminderStatus.PENDING,
                )
            )
            created += 1
    await session.flush()
    return created


async def cancel_pending(session: AsyncSession, *, dialogue_id: int) -> int:
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.dialogue_id == dialogue_id,
            Reminder.status.in_(sources(ReminderStatus.CANCELLED)),
        )
        .values(status=ReminderStatus.CANCELLED)
    )
    return result.rowcount or 0


async def claim_due(session: AsyncSession, *, now: datetime) -> list[tuple[Reminder, Dialogue]]:
    """Mark the due reminders fired (or skipped) and return those to send now."""
    rows = list(
        await session.execute(
            select(Reminder, Dialogue)
            .join(Dialogue, Dialogue.id == Reminder.dialogue_id)
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
            .order_by(Reminder.dialogue_id, Reminder.due_at.desc())
            .with_for_update(skip_locked=True, of=Reminder)
        )
    )
    fire: list[tuple[Reminder, Dialogue]] = []
    latest_seen: set[int] = set()
    for reminder, dialogue in rows:
        too_late = dialogue.starts_at is None or now >= dialogue.starts_at
        superseded = dialogue.id in latest_seen  # a later reminder of it is due too
        if dialogue.status != DialogueStatus.PLANNED or too_late or superseded:
            reminder.status = transition(reminder.status, ReminderStatus.SKIPPED)
            continue
        latest_seen.add(dialogue.id)
        reminder.status = transition(reminder.status, ReminderStatus.FIRED)
        fire.append((reminder, dialogue))
    await session.flush()
    return fire


async def pending_for(session: AsyncSession, *, dialogue_id: int) -> list[Reminder]:
    rows = await session.scalars(
        select(Reminder)
        .where(Reminder.dialogue_id == dialogue_id, Reminder.status == ReminderStatus.PENDING)
        .order_by(Reminder.due_at)
    )
    return list(rows)
