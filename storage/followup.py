"""At and after the dialogue: the facilitator's room (questions answered there, commitments made
there, who came) and the closing of ended dialogues, whose unanswered questions go to their
agencies with a deadline.

Every change of a question leaves a QuestionEvent (who, on which day) for the minutes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import (
    CommitmentStatus,
    DialogueStatus,
    InvitationStatus,
    QuestionStatus,
    transition,
)
from storage.dialogues import ends_at
from storage.models import (
    Account,
    Agency,
    Answer,
    Commitment,
    Dialogue,
    Invitation,
    Question,
    QuestionEvent,
    Staff,
)

# The room shows what can still be dealt with at the dialogue.
ROOM_STATUSES = (QuestionStatus.APPROVED, QuestionStatus.ANSWERED, QuestionStatus.COMMITTED)
# The room stays open from the day before the start to 30 days after the end: minutes and
# commitments are often written up in the weeks after.
BEFORE = timedelta(days=1)
AFTER = timedelta(days=30)
# Questions still waiting for an answer when a dialogue closes.
UNANSWERED = (QuestionStatus.APPROVED, QuestionStatus.REOPENED)


async def room_dialogues(session: AsyncSession, *, ward: str, now: datetime) -> list[Dialogue]:
    """The ward's session dialogues, not cancelled, whose room is open now; newest first."""
    rows = await session.scalars(
        select(Dialogue)
        .where(
            Dialogue.kind == "session",
            Dialogue.status != DialogueStatus.CANCELLED,
            Dialogue.starts_at.is_not(None),
            Dialogue.starts_at <= now + BEFORE,
        )
        .order_by(Dialogue.starts_at.desc(), Dialogue.id.desc())
    )
    # `wards` is a JSON list, filtered here rather than in each database's JSON dialect.
    return [
        d
        for d in rows
        if ward in (d.wards or []) and (end := ends_at(d)) is not None and now <= end + AFTER
    ]


async def room_questions(session: AsyncSession, *, dialogue_id: int) -> list[Question]:
    """A dialogue's questions for the room, the most supported first (then the oldest)."""
    rows = await session.scalars(
        select(Question)
        .where(
            Question.dialogue_id == dialogue_id,
            Question.status.in_(ROOM_STATUSES),
            Question.merged_into.is_(None),
        )
        .order_by(Question.supporters.desc(), Question.submitted_on, Question.ticket)
    )
    return list(rows)


async def asker_name(session: AsyncSession, *, question: Question) -> str | None:
    """A named question's asker as they gave their name; None for an anonymous one."""
    if question.anonymous or question.account_id is None:
        return None
    account = await session.get(Account, question.account_id)
    return account.display_name if account is not None else None


async def agencies_first(session: AsyncSession, *, first: str | None) -> list[Agency]:
    """The active agencies, `first` (a question's agency) at the top."""
    rows = list(
        await session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.code))
    )
    return sorted(rows, key=lambda a: a.code != first)


def _event(
    question_id: str, kind: str, on: date, staff_id: int | None, note: str = ""
) -> QuestionEvent:
    return QuestionEvent(question_id=question_id, kind=kind, staff_id=staff_id, note=note, on=on)


async def answered_in_room(
    session: AsyncSession,
    *,
    question: Question,
    staff_id: int,
    summary: str,
    now: datetime,
    today: date,
) -> Answer | None:
    """The question was answered at the dialogue: marked so, and with a summary, the answer
    recorded (in the name of the question's agency) for the asker and followers."""
    question.answered_in_room = True
    # A commitment says more than an answer: a committed question keeps its status.
    if question.status not in (QuestionStatus.COMMITTED, QuestionStatus.FULFILLED):
        question.status = transition(question.status, QuestionStatus.ANSWERED)
    session.add(_event(question.id, "in_room", today, staff_id))
    answer = None
    if summary:
        answer = Answer(
            question_id=question.id,
            agency=question.agency,
            staff_id=staff_id,
            text=summary,
            in_room=True,
            published_at=now,
        )
        session.add(answer)
    await session.flush()
    return answer


async def record_commitment(
    session: AsyncSession,
    *,
    dialogue_id: int,
    question: Question | None,
    agency: str,
    content: str,
    due_on: date,
    responsible: str,
    staff_id: int,
    now: datetime,
    today: date,
) -> Commitment:
    """A commitment made at the dialogue, on a question (which becomes committed) or for the
    dialogue as a whole (question None)."""
    commitment = Commitment(
        dialogue_id=dialogue_id,
        question_id=question.id if question is not None else None,
        agency=agency,
        content=content,
        due_on=due_on,
        responsible=responsible,
        status=CommitmentStatus.OPEN,
        progress="",
        version=1,
        staff_id=staff_id,
        made_at=now,
        updated_at=now,
    )
    session.add(commitment)
    if question is not None:
        question.status = transition(question.status, QuestionStatus.COMMITTED)
        session.add(_event(question.id, "committed", today, staff_id))
    await session.flush()
    return commitment


async def toggle_attendance(
    session: AsyncSession, *, invitation_id: int, dialogue_id: int
) -> Invitation | None:
    """Mark a household present, or no longer present; None if it was not invited to it."""
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.dialogue_id != dialogue_id:
        return None
    if invitation.status not in (
        InvitationStatus.ACCEPTED,
        InvitationStatus.INVITED,
        InvitationStatus.LETTER,
    ):
        return None
    invitation.attended = not invitation.attended
    await session.flush()
    return invitation


# Closing


async def ended(session: AsyncSession, *, now: datetime) -> list[Dialogue]:
    """Planned sessions that have ended and are not closed yet."""
    rows = await session.scalars(
        select(Dialogue)
        .where(
            Dialogue.kind == "session",
            Dialogue.status == DialogueStatus.PLANNED,
            Dialogue.closed_at.is_(None),
            Dialogue.starts_at.is_not(None),
            Dialogue.starts_at <= now,
        )
        .order_by(Dialogue.starts_at, Dialogue.id)
    )
    return [d for d in rows if (end := ends_at(d)) is not None and end <= now]


async def claim_closing(session: AsyncSession, *, dialogue: Dialogue, now: datetime) -> bool:
    """Close the dialogue if nobody has: True for the one transaction that does.

    On PostgreSQL a second process's UPDATE waits for the first to commit and then finds
    closed_at set; on SQLite transactions queue on BEGIN IMMEDIATE."""
    result = await session.execute(
        update(Dialogue)
        .where(Dialogue.id == dialogue.id, Dialogue.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    dialogue.closed_at = now
    return True


async def send_unanswered(
    session: AsyncSession, *, dialogue_id: int, due_on: date, today: date
) -> Counter[str]:
    """Give each unanswered question of the dialogue its agency's deadline; returns how many
    each agency received."""
    questions = list(
        await session.scalars(
            select(Question).where(
                Question.dialogue_id == dialogue_id,
                Question.status.in_(UNANSWERED),
                Question.merged_into.is_(None),
            )
        )
    )
    for question in questions:
        question.due_on = due_on
        session.add(_event(question.id, "due", today, None, note=due_on.isoformat()))
    await session.flush()
    return Counter(q.agency for q in questions)


async def reachable_officials(
    session: AsyncSession, *, agencies: list[str]
) -> list[tuple[Staff, str | None]]:
    """The active officials of these agencies that a message can reach, with their language."""
    if not agencies:
        return []
    rows = await session.execute(
        select(Staff, Account.locale)
        .outerjoin(Account, (Account.channel == Staff.channel) & (Account.user_id == Staff.user_id))
        .where(
            Staff.role == "official",
            Staff.agency.in_(agencies),
            Staff.claimed_at.is_not(None),
            Staff.revoked_at.is_(None),
            Staff.channel.is_not(None),
            Staff.user_id.is_not(None),
        )
        .order_by(Staff.id)
    )
    return [(staff, locale) for staff, locale in rows]
