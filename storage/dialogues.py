"""Dialogues: the sessions people can send questions to, and the standing general intake."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Dialogue


async def open_dialogues(session: AsyncSession, *, now: datetime) -> list[Dialogue]:
    """Planned sessions still taking questions (before their deadline, or their start), soonest first."""
    rows = await session.scalars(
        select(Dialogue)
        .where(
            Dialogue.kind == "session",
            Dialogue.status == "planned",
            Dialogue.starts_at > now,
            or_(Dialogue.question_deadline.is_(None), Dialogue.question_deadline > now),
        )
        .order_by(Dialogue.starts_at, Dialogue.id)
    )
    return list(rows)


async def general_intake(session: AsyncSession) -> Dialogue:
    """The standing intake for questions when no session is open (created by the first migration)."""
    dialogue = await session.scalar(select(Dialogue).where(Dialogue.kind == "general"))
    if dialogue is None:
        raise LookupError("the general intake is missing: run `doithoai db upgrade`")
    return dialogue


async def get_dialogue(session: AsyncSession, *, dialogue_id: int) -> Dialogue | None:
    return await session.get(Dialogue, dialogue_id)


async def create_dialogue(
    session: AsyncSession,
    *,
    title: str,
    starts_at: datetime,
    venue: str,
    duration: timedelta = timedelta(minutes=150),
    question_deadline: datetime | None = None,
    topics: list[str] | None = None,
) -> Dialogue:
    dialogue = Dialogue(
        kind="session",
        title=title,
        starts_at=starts_at,
        duration_minutes=int(duration.total_seconds() // 60),
        venue=venue,
        question_deadline=question_deadline,
        topics=list(topics or []),
        status="planned",
    )
    session.add(dialogue)
    await session.flush()
    return dialogue
