"""Questions asked by voice: where the audio is until the facilitator writes it down.

The reference (a Telegram file id, a Zalo file's address) lives in one row per question, and in
the replies that carry it to the facilitator until they are sent (the outbox forgets a body once
final). `forget` removes both, in the transaction that writes the question down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Text, cast, delete, func, select, update

from bot.core.lifecycles import OutboxStatus, transition
from storage.models import Dialogue, OutboxMessage, Question, VoiceNote

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENDING)


async def add_voice(
    session, *, question_id: str, channel: str, file_ref: str, seconds: int, now: datetime
) -> VoiceNote:
    note = VoiceNote(
        question_id=question_id,
        channel=channel,
        file_ref=file_ref,
        seconds=seconds,
        received_at=now,
    )
    session.add(note)
    await session.flush()
    return note


async def voice_of(session, *, question_id: str) -> VoiceNote | None:
    return await session.get(VoiceNote, question_id)


async def write_down(session, *, question: Question, text: str) -> bool:
    """The typed text becomes the question's, and its audio is forgotten everywhere (`forget`).
    False if it was written down already."""
    if await session.get(VoiceNote, question.id, with_for_update=True) is None:
        return False
    question.text = text
    return await forget(session, question_id=question.id)


async def forget(session, *, question_id: str) -> bool:
    """Forget a question's audio: its row, and any reply still waiting to carry it."""
    note = await session.get(VoiceNote, question_id)
    if note is None:
        return False
    waiting = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.status.in_(UNFINISHED),
            cast(OutboxMessage.body, Text).contains(note.file_ref),
        )
    )
    for row in waiting:
        body = dict(row.body or {})
        body.pop("voice", None)
        row.body = body if body.get("text") else None
        if row.body is None:
            row.status = transition(row.status, OutboxStatus.FAILED)
            row.error = "voice written down before it was sent"
    await session.execute(delete(VoiceNote).where(VoiceNote.question_id == question_id))
    await session.flush()
    return True


async def pending_count(session, *, dialogue_ids: list[int] | None = None) -> int:
    """Voice questions not yet written down (of these dialogues, if given)."""
    query = select(func.count()).select_from(VoiceNote)
    if dialogue_ids is not None:
        query = query.join(Question, Question.id == VoiceNote.question_id).where(
            Question.dialogue_id.in_(dialogue_ids)
        )
    return int(await session.scalar(query) or 0)


async def due_reminders(session, *, now: datetime, after: timedelta) -> list[VoiceNote]:
    """Voice questions waiting longer than `after` whose facilitators were not reminded since:
    marked reminded now."""
    notes = list(
        await session.scalars(
            select(VoiceNote)
            .where(VoiceNote.received_at <= now - after)
            .where((VoiceNote.reminded_at.is_(None)) | (VoiceNote.reminded_at <= now - after))
            .with_for_update(skip_locked=True)
        )
    )
    if notes:
        await session.execute(
            update(VoiceNote)
            .where(VoiceNote.question_id.in_([n.question_id for n in notes]))
            .values(reminded_at=now)
        )
    return notes


async def dialogues_of(session, *, question_ids: list[str]) -> dict[str, Dialogue]:
    """The dialogue of each of these questions."""
    rows = await session.execute(
        select(Question.id, Dialogue)
        .join(Dialogue, Dialogue.id == Question.dialogue_id)
        .where(Question.id.in_(question_ids))
    )
    return {question_id: dialogue for question_id, dialogue in rows}
