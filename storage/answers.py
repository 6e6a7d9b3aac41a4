"""Answers, commitments, forwarding and feedback: what agencies do with the questions of their
inbox, and what askers and followers say back.

Every change of a question leaves a QuestionEvent (who, on which day) for the minutes and the
record; a citizen's own action (feedback) carries no staff member and only the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import CommitmentStatus, QuestionStatus, transition
from storage.models import (
    Account,
    Agency,
    Answer,
    Commitment,
    Dialogue,
    Feedback,
    Question,
    QuestionEvent,
    Staff,
    Support,
)
from storage.questions import by_ticket as by_ticket

# An official's inbox: approved questions and those already dealt with. New, rejected and
# merged ones are the facilitator's; reopened ones are back with the facilitator.
INBOX_STATUSES = (
    QuestionStatus.APPROVED,
    QuestionStatus.ANSWERED,
    QuestionStatus.COMMITTED,
    QuestionStatus.FULFILLED,
)


@dataclass(frozen=True)
class InboxItem:
    question: Question
    dialogue: Dialogue


async def inbox(session: AsyncSession, *, agency: str) -> list[InboxItem]:
    """The questions of an agency's inbox: those still waiting for an answer first, then the
    most supported, then the oldest (ties by ticket, so pages do not shift)."""
    waiting = case((Question.status == QuestionStatus.APPROVED, 0), else_=1)
    rows = await session.execute(
        select(Question, Dialogue)
        .join(Dialogue, Dialogue.id == Question.dialogue_id)
        .where(Question.agency == agency, Question.status.in_(INBOX_STATUSES))
        .order_by(waiting, Question.supporters.desc(), Question.submitted_on, Question.ticket)
    )
    return [InboxItem(question, dialogue) for question, dialogue in rows]


async def answers_to(session: AsyncSession, *, question_ids: list[str]) -> list[Answer]:
    """The answers of these questions, oldest first."""
    if not question_ids:
        return []
    rows = await session.scalars(
        select(Answer)
        .where(Answer.question_id.in_(question_ids))
        .order_by(Answer.published_at, Answer.id)
    )
    return list(rows)


async def commitments_to(session: AsyncSession, *, question_ids: list[str]) -> list[Commitment]:
    """The commitments made on these questions, soonest deadline first."""
    if not question_ids:
        return []
    rows = await session.scalars(
        select(Commitment)
        .where(Commitment.question_id.in_(question_ids))
        .order_by(Commitment.due_on, Commitment.id)
    )
    return list(rows)


async def open_commitments(session: AsyncSession, *, agency: str) -> list[Commitment]:
    """An agency's commitments not yet fulfilled, with or without a question, deadline first."""
    rows = await session.scalars(
        select(Commitment)
        .where(Commitment.agency == agency, Commitment.status == CommitmentStatus.OPEN)
        .order_by(Commitment.due_on, Commitment.id)
    )
    return list(rows)


async def note_event(
    session: AsyncSession,
    *,
    question_id: str,
    kind: str,
    on: date,
    staff_id: int | None = None,
    note: str = "",
) -> QuestionEvent:
    event = QuestionEvent(question_id=question_id, kind=kind, staff_id=staff_id, note=note, on=on)
    session.add(event)
    await session.flush()
    return event


def _mark_answered(question: Question) -> None:
    # A commitment says more than an answer: a committed or fulfilled question keeps its status.
    if question.status not in (QuestionStatus.COMMITTED, QuestionStatus.FULFILLED):
        question.status = transition(question.status, QuestionStatus.ANSWERED)


async def add_answer(
    session: AsyncSession,
    *,
    question: Question,
    staff: Staff,
    text: str,
    now: datetime,
    today: date,
    in_room: bool = False,
) -> Answer:
    """Publish an agency's answer: stored, the question answered, the event noted."""
    assert staff.agency is not None
    answer = Answer(
        question_id=question.id,
        agency=staff.agency,
        staff_id=staff.id,
        text=text,
        in_room=in_room,
        published_at=now,
    )
    session.add(answer)
    _mark_answered(question)
    if not in_room:
        await note_event(
            session, question_id=question.id, kind="answered", staff_id=staff.id, on=today
        )
    await session.flush()
    return answer


async def mark_in_room(
    session: AsyncSession, *, question: Question, staff: Staff, today: date, summary: str = ""
) -> None:
    """The question was answered at the dialogue itself."""
    question.answered_in_room = True
    _mark_answered(question)
    await note_event(
        session, question_id=question.id, kind="in_room", staff_id=staff.id, on=today, note=summary
    )


async def add_commitment(
    session: AsyncSession,
    *,
    question: Question,
    staff: Staff,
    content: str,
    due_on: date,
    responsible: str,
    now: datetime,
    today: date,
) -> Commitment:
    """A commitment on a question, version 1; the question becomes committed."""
    assert staff.agency is not None
    commitment = Commitment(
        dialogue_id=question.dialogue_id,
        question_id=question.id,
        agency=staff.agency,
        content=content,
        due_on=due_on,
        responsible=responsible,
        status=CommitmentStatus.OPEN,
        progress="",
        version=1,
        staff_id=staff.id,
        made_at=now,
        updated_at=now,
    )
    session.add(commitment)
    if question.status != QuestionStatus.FULFILLED:
        question.status = transition(question.status, QuestionStatus.COMMITTED)
    await note_event(
        session, question_id=question.id, kind="committed", staff_id=staff.id, on=today
    )
    await session.flush()
    return commitment


async def update_progress(
    session: AsyncSession,
    *,
    commitment: Commitment,
    staff: Staff,
    progress: str,
    now: datetime,
    today: date,
) -> None:
    """New progress on a commitment: a new version, so that it reaches people once more."""
    commitment.progress = progress
    commitment.version += 1
    commitment.updated_at = now
    if commitment.question_id is not None:
        await note_event(
            session,
            question_id=commitment.question_id,
            kind="commitment_updated",
            staff_id=staff.id,
            on=today,
        )
    await session.flush()


async def fulfil(
    session: AsyncSession, *, commitment: Commitment, staff: Staff, now: datetime, today: date
) -> Question | None:
    """A commitment fulfilled; its question too once all of its commitments are. Returns the
    question, if the commitment has one."""
    commitment.status = transition(commitment.status, CommitmentStatus.FULFILLED)
    commitment.fulfilled_on = today
    commitment.version += 1
    commitment.updated_at = now
    await session.flush()
    if commitment.question_id is None:
        return None
    question = await session.get(Question, commitment.question_id)
    assert question is not None
    await note_event(
        session, question_id=question.id, kind="fulfilled", staff_id=staff.id, on=today
    )
    still_open = await session.scalar(
        select(func.count())
        .select_from(Commitment)
        .where(Commitment.question_id == question.id, Commitment.status == CommitmentStatus.OPEN)
    )
    # A reopened question stays with the facilitator whatever happens to its commitments.
    if not still_open and question.status in (QuestionStatus.ANSWERED, QuestionStatus.COMMITTED):
        question.status = transition(question.status, QuestionStatus.FULFILLED)
    return question


async def forward(
    session: AsyncSession, *, question: Question, staff: Staff, to: str, note: str, today: date
) -> QuestionEvent:
    """Hand a question to another agency, with a note for its officials."""
    question.agency = to
    return await note_event(
        session, question_id=question.id, kind="forwarded", staff_id=staff.id, on=today, note=note
    )


async def officials_of(session: AsyncSession, *, agency: str) -> list[tuple[Staff, str | None]]:
    """The active officials of an agency who can be reached, with their language if known."""
    rows = await session.execute(
        select(Staff, Account.locale)
        .outerjoin(Account, (Account.channel == Staff.channel) & (Account.user_id == Staff.user_id))
        .where(
            Staff.role == "official",
            Staff.agency == agency,
            Staff.claimed_at.is_not(None),
            Staff.revoked_at.is_(None),
            Staff.channel.is_not(None),
            Staff.user_id.is_not(None),
        )
        .order_by(Staff.id)
    )
    return [(staff, locale) for staff, locale in rows]


async def other_agencies(session: AsyncSession, *, besides: str) -> list[Agency]:
    rows = await session.scalars(
        select(Agency).where(Agency.active.is_(True), Agency.code != besides).order_by(Agency.code)
    )
    return list(rows)


# Feedback


async def concerns(
    session: AsyncSession,
    *,
    question: Question,
    account_ids: list[int],
    person_hashes: list[str],
) -> bool:
    """Whether this person asked the question (or one merged into it) or follows it: only they
    may say whether its answer satisfies them. A household's chats count as one person (its
    news goes to the chat it used last), so the caller gives every account and keyed hash of
    the household's chats."""
    family = select(Question.id).where(
        or_(Question.id == question.id, Question.merged_into == question.id)
    )
    asked = await session.scalar(
        select(func.count())
        .select_from(Question)
        .where(
            Question.id.in_(family),
            or_(Question.account_id.in_(account_ids), Question.asker_hash.in_(person_hashes)),
        )
    )
    if asked:
        return True
    supports = await session.scalar(
        select(func.count())
        .select_from(Support)
        .where(Support.question_id.in_(family), Support.supporter_hash.in_(person_hashes))
    )
    return bool(supports)


async def feedback_exists(
    session: AsyncSession, *, question_id: str, about: str, giver_hash: str
) -> bool:
    found = await session.scalar(
        select(Feedback.id).where(
            Feedback.question_id == question_id,
            Feedback.about == about,
            Feedback.giver_hash == giver_hash,
        )
    )
    return found is not None


async def give_feedback(
    session: AsyncSession,
    *,
    question: Question,
    about: str,
    giver_hash: str,
    satisfied: bool,
    today: date,
    reason: str = "",
) -> Feedback:
    """One person's word on one answer or commitment version; "not satisfied" with a reason
    sends the question back to the facilitator (reopened)."""
    feedback = Feedback(
        question_id=question.id,
        about=about,
        giver_hash=giver_hash,
        satisfied=satisfied,
        reason=reason,
        given_on=today,
    )
    session.add(feedback)
    if not satisfied:
        question.status = transition(question.status, QuestionStatus.REOPENED)
        question.reopen_reason = reason
        await note_event(session, question_id=question.id, kind="reopened", on=today, note=reason)
    await session.flush()
    return feedback


async def about_exists(session: AsyncSession, *, question: Question, about: str) -> bool:
    """Whether `about` ("a12", "c7.2") names an answer or a commitment version of the question."""
    kind, rest = about[:1], about[1:]
    if kind == "a" and rest.isdigit():
        answer = await session.get(Answer, int(rest))
        return answer is not None and answer.question_id == question.id
    if kind == "c":
        ident, dot, version = rest.partition(".")
        if not (ident.isdigit() and dot and version.isdigit()):
            return False
        commitment = await session.get(Commitment, int(ident))
        return (
            commitment is not None
            and commitment.question_id == question.id
            and 1 <= int(version) <= commitment.version
        )
    return False


async def tickets_of(session: AsyncSession, *, question_ids: list[str]) -> dict[str, str]:
    """The tickets of these questions, by id (e.g. of the questions others were merged into)."""
    if not question_ids:
        return {}
    rows = await session.execute(
        select(Question.id, Question.ticket).where(Question.id.in_(question_ids))
    )
    return {ident: ticket for ident, ticket in rows}
