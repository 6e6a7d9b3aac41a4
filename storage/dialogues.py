"""Dialogues: the sessions people can send questions to, and the standing general intake."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import DialogueStatus
from storage.models import Dialogue


async def open_dialogues(
    session: AsyncSession, *, now: datetime, ward: str | None = None
) -> list[Dialogue]:
    """Planned sessions still taking questions (before their deadline, or their start), soonest
    first; with `ward`, only those of that ward (or open to every ward)."""
    rows = await session.scalars(
        select(Dialogue)
        .where(
            Dialogue.kind == "session",
            Dialogue.status == DialogueStatus.PLANNED,
            Dialogue.starts_at > now,
            or_(Dialogue.question_deadline.is_(None), Dialogue.question_deadline > now),
        )
        .order_by(Dialogue.starts_at, Dialogue.id)
    )
    return [d for d in rows if ward is None or not d.wards or ward in d.wards]


async def list_dialogues(session: AsyncSession) -> list[Dialogue]:
    """Every session, newest first (the general intake is not a session)."""
    rows = await session.scalars(
        select(Dialogue).where(Dialogue.kind == "session").order_by(Dialogue.starts_at.desc())
    )
    return list(rows)


async def find_general_intake(session: AsyncSession) -> Dialogue | None:
    """The standing intake for questions when no session is open; None before the migrations."""
    return await session.scalar(select(Dialogue).where(Dialogue.kind == "general"))


async def general_intake(session: AsyncSession) -> Dialogue:
    """The standing intake for questions when no session is open (created by the first migration)."""
    dialogue = await find_general_intake(session)
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
    wards: list[str] | None = None,
    quota_total: int = 80,
    quota_priority: int = 60,
) -> Dialogue:
    if not 0 <= quota_priority <= quota_total:
        raise ValueError("the priority quota must be between 0 and the total")
    dialogue = Dialogue(
        kind="session",
        title=title,
        starts_at=starts_at,
        duration_minutes=int(duration.total_seconds() // 60),
        venue=venue,
        question_deadline=question_deadline,
        topics=list(topics or []),
        wards=list(wards or []),
        quota_total=quota_total,
        quota_priority=quota_priority,
        status=DialogueStatus.PLANNED,
    )
    session.add(dialogue)
    await session.flush()
    return dialogue


def ends_at(dialogue: Dialogue) -> datetime | None:
    """When a dialogue ends: its start plus its duration (None while it has no start)."""
    if dialogue.starts_at is None:
        return None
    return dialogue.starts_at + timedelta(minutes=dialogue.duration_minutes)
