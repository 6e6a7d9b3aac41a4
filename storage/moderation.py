"""The facilitator's decisions on questions: what waits for them, and approve, reject, merge,
change topic or agency, mark sensitive, each recorded as a QuestionEvent.

A facilitator moderates the questions of the dialogues their ward takes part in, and those of
the general intake (which belongs to no ward): `in_ward` is the one rule for both the queue and
every action, so a button replayed from elsewhere cannot reach another ward's question.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import QuestionStatus, transition
from storage.models import Dialogue, Question, QuestionEvent

# A question waits for the facilitator when it is new, or reopened by an unsatisfied asker.
WAITING = (QuestionStatus.NEW, QuestionStatus.REOPENED)


def _same_ward(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def in_ward(dialogue: Dialogue, ward: str | None) -> bool:
    """Does a facilitator of `ward` moderate this dialogue's questions?"""
    if dialogue.kind == "general":
        return True
    return ward is not None and any(_same_ward(w, ward) for w in dialogue.wards or ())


async def dialogue_ids(session: AsyncSession, *, ward: str | None) -> list[int]:
    # Wards are a JSON list, matched alike on SQLite and PostgreSQL here rather than in SQL;
    # a city has tens of dialogues, not thousands.
    return [d.id for d in await session.scalars(select(Dialogue)) if in_ward(d, ward)]


async def waiting(session: AsyncSession, *, ward: str | None) -> list[Question]:
    """The questions waiting for a facilitator of `ward`, oldest day first."""
    ids = await dialogue_ids(session, ward=ward)
    if not ids:
        return []
    rows = await session.scalars(
        select(Question)
        .where(Question.dialogue_id.in_(ids), Question.status.in_(WAITING))
        .order_by(Question.submitted_on, Question.ticket)
    )
    return list(rows)


async def find_by_ticket(
    session: AsyncSession, *, ticket: str, lock: bool = False
) -> Question | None:
    """The question of a ticket; with `lock`, held until the transaction ends, so that two
    facilitators pressing at once decide it once."""
    query = select(Question).where(Question.ticket == ticket.strip().upper())
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def mergeable(session: AsyncSession, *, question: Question, limit: int = 8) -> list[Question]:
    """Approved questions of the same dialogue a duplicate can join, the most supported first."""
    rows = await session.scalars(
        select(Question)
        .where(
            Question.dialogue_id == question.dialogue_id,
            Question.status == QuestionStatus.APPROVED,
            Question.id != question.id,
        )
        .order_by(Question.supporters.desc(), Question.submitted_on, Question.ticket)
        .limit(limit)
    )
    return list(rows)


def _record(
    session: AsyncSession, *, question: Question, kind: str, staff_id: int, on: date, note: str = ""
) -> None:
    session.add(
        QuestionEvent(question_id=question.id, kind=kind, staff_id=staff_id, note=note, on=on)
    )


async def approve(
    session: AsyncSession,
    *,
    question: Question,
    staff_id: int,
    on: date,
    due_on: date | None = None,
) -> None:
    """The question goes to its agency (a reopened one goes back, with `due_on` if given)."""
    question.status = transition(question.status, QuestionStatus.APPROVED)
    if due_on is not None:
        question.due_on = due_on
    _record(session, question=question, kind="approved", staff_id=staff_id, on=on)
    await session.flush()


async def reject(
    session: AsyncSession, *, question: Question, reason: str, staff_id: int, on: date
) -> None:
    question.status = transition(question.status, QuestionStatus.REJECTED)
    question.reject_reason = reason
    _record(session, question=question, kind="rejected", staff_id=staff_id, on=on, note=reason)
    await session.flush()


async def merge(
    session: AsyncSession, *, duplicate: Question, kept: Question, staff_id: int, on: date
) -> None:
    """`duplicate` joins `kept`: its asker, its supporters and any question merged into it
    follow `kept` from now on, and count for it."""
    if duplicate.id == kept.id or kept.dialogue_id != duplicate.dialogue_id:
        raise ValueError("a question joins another question of the same dialogue")
    await session.execute(
        update(Question)
        .where(Question.merged_into == duplicate.id)
        .values(merged_into=kept.id)
        .execution_options(synchronize_session=False)
    )
    duplicate.status = transition(duplicate.status, QuestionStatus.MERGED)
    duplicate.merged_into = kept.id
    kept.supporters += 1 + duplicate.supporters
    _record(session, question=duplicate, kind="merged", staff_id=staff_id, on=on, note=kept.ticket)
    await session.flush()


async def change_topic(
    session: AsyncSession, *, question: Question, topic: str, agency: str, staff_id: int, on: date
) -> None:
    note = f"topic {question.topic} -> {topic}; agency {question.agency} -> {agency}"
    question.topic, question.agency = topic, agency
    _record(session, question=question, kind="retopic", staff_id=staff_id, on=on, note=note)
    await session.flush()


async def change_agency(
    session: AsyncSession, *, question: Question, agency: str, staff_id: int, on: date
) -> None:
    note = f"agency {question.agency} -> {agency}"
    question.agency = agency
    _record(session, question=question, kind="retopic", staff_id=staff_id, on=on, note=note)
    await session.flush()


async def set_sensitive(
    session: AsyncSession, *, question: Question, sensitive: bool, staff_id: int, on: date
) -> None:
    """Sensitive questions are never shown in public (the board, other citizens' lists)."""
    question.sensitive = sensitive
    _record(
        session,
        question=question,
        kind="sensitive",
        staff_id=staff_id,
        on=on,
        note="on" if sensitive else "off",
    )
    await session.flush()
