"""What the minutes and the exports of a dialogue are made of, read in one go.

A report holds no asker: no account id, no hash, no sealed handle, no address. A named
question carries its account's display name (the asker chose to be named); an anonymous one
carries nothing, so that no document built from a report can identify its asker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import CommitmentStatus, InvitationStatus, QuestionStatus
from storage.households import is_minority
from storage.models import (
    Account,
    Agency,
    Answer,
    Commitment,
    Dialogue,
    Household,
    Invitation,
    Question,
    Staff,
)
from storage.topics import AGENCIES

# The questions the minutes record as concerns raised: moderated and kept. New ones have not
# been read yet, rejected ones were refused, merged ones count with the question they joined.
RAISED = (
    QuestionStatus.APPROVED,
    QuestionStatus.ANSWERED,
    QuestionStatus.COMMITTED,
    QuestionStatus.FULFILLED,
    QuestionStatus.REOPENED,
)
# Waiting for their agency: an answer is due by `due_on`.
WAITING = (QuestionStatus.APPROVED, QuestionStatus.REOPENED)
GROUPS = ("priority", "other")
POOR_OR_NEAR_POOR = frozenset({"poor", "near_poor"})


@dataclass(frozen=True)
class ReportQuestion:
    id: str
    ticket: str
    topic: str
    agency: str
    text: str
    anonymous: bool
    asker_name: str | None  # the display name of a named question's account; never anonymous
    status: str
    submitted_on: date
    sensitive: bool
    merged_into: str | None  # the ticket of the question it was merged into
    supporters: int  # people who asked the same: supports, merged askers and their supports
    answered_in_room: bool
    due_on: date | None


@dataclass(frozen=True)
class ReportAnswer:
    question_id: str
    agency: str
    text: str
    in_room: bool
    published_at: datetime


@dataclass(frozen=True)
class ReportCommitment:
    question_id: str | None
    agency: str
    content: str
    due_on: date
    responsible: str
    status: str  # open, fulfilled
    progress: str
    fulfilled_on: date | None


@dataclass(frozen=True)
class GroupCount:
    """The households of one group who took part, and how many of them are of each kind."""

    group: str  # priority (poor, near-poor, newly out of poverty) or other
    households: int
    women: int  # women heads of household
    minorities: int  # ethnic minority households
    poor_or_near_poor: int


@dataclass(frozen=True)
class Official:
    name: str
    agency: str | None


@dataclass(frozen=True)
class DialogueReport:
    dialogue: Dialogue
    questions: list[ReportQuestion]  # every question, in the order they came
    answers: list[ReportAnswer]  # oldest first
    commitments: list[ReportCommitment]  # in the order they were made
    participants: list[GroupCount]  # one per group, in GROUPS order
    attendance_recorded: bool  # else the participants are the households that accepted
    officials: list[Official]  # officials who answered or committed for this dialogue
    agency_names: dict[str, str]  # code -> name as stored (seeded ones are catalog msgids)

    def answers_to(self, question_id: str) -> list[ReportAnswer]:
        return [a for a in self.answers if a.question_id == question_id]

    def commitments_to(self, question_id: str) -> list[ReportCommitment]:
        return [c for c in self.commitments if c.question_id == question_id]

    @property
    def raised(self) -> list[ReportQuestion]:
        """The concerns the minutes record (see RAISED)."""
        return [q for q in self.questions if q.status in RAISED]


def is_seeded_agency(code: str) -> bool:
    """Whether an agency's stored name is a catalog message id (else it is shown as written)."""
    return code in AGENCIES


def question_overdue(question: ReportQuestion, *, today: date) -> bool:
    """Still waiting for its agency after its deadline."""
    return question.status in WAITING and question.due_on is not None and question.due_on < today


def commitment_overdue(commitment: ReportCommitment, *, today: date) -> bool:
    return commitment.status == CommitmentStatus.OPEN and commitment.due_on < today


async def dialogue_report(session: AsyncSession, *, dialogue_id: int) -> DialogueReport | None:
    """Everything the minutes and the exports of a dialogue show; None if there is no such
    dialogue."""
    dialogue = await session.get(Dialogue, dialogue_id)
    if dialogue is None:
        return None
    questions = await _questions(session, dialogue_id=dialogue_id)
    ids = [q.id for q in questions]
    answers = [
        ReportAnswer(a.question_id, a.agency, a.text, a.in_room, a.published_at)
        for a in await session.scalars(
            select(Answer)
            .where(Answer.question_id.in_(ids))
            .order_by(Answer.published_at, Answer.id)
        )
    ]
    commitment_rows = list(
        await session.scalars(
            select(Commitment)
            .where(Commitment.dialogue_id == dialogue_id)
            .order_by(Commitment.made_at, Commitment.id)
        )
    )
    commitments = [
        ReportCommitment(
            c.question_id,
            c.agency,
            c.content,
            c.due_on,
            c.responsible,
            c.status,
            c.progress,
            c.fulfilled_on,
        )
        for c in commitment_rows
    ]
    participants, recorded = await _participants(session, dialogue_id=dialogue_id)
    return DialogueReport(
        dialogue=dialogue,
        questions=questions,
        answers=answers,
        commitments=commitments,
        participants=participants,
        attendance_recorded=recorded,
        officials=await _officials(session, dialogue_id=dialogue_id, question_ids=ids),
        agency_names=dict((await session.execute(select(Agency.code, Agency.name))).all()),
    )


async def _questions(session: AsyncSession, *, dialogue_id: int) -> list[ReportQuestion]:
    # The account is joined only for named questions: an anonymous question has no account,
    # and this keeps it so even if a row were ever inconsistent.
    named = and_(Account.id == Question.account_id, Question.anonymous.is_(False))
    rows = (
        await session.execute(
            select(Question, Account.display_name)
            .outerjoin(Account, named)
            .where(Question.dialogue_id == dialogue_id)
            .order_by(Question.submitted_on, Question.ticket)
        )
    ).all()
    tickets = {q.id: q.ticket for q, _ in rows}
    elsewhere = {q.merged_into for q, _ in rows if q.merged_into and q.merged_into not in tickets}
    if elsewhere:
        tickets.update(
            (
                await session.execute(
                    select(Question.id, Question.ticket).where(Question.id.in_(elsewhere))
                )
            ).all()
        )
    return [
        ReportQuestion(
            id=q.id,
            ticket=q.ticket,
            topic=q.topic,
            agency=q.agency,
            text=q.text,
            anonymous=q.anonymous,
            asker_name=None if q.anonymous else name,
            status=q.status,
            submitted_on=q.submitted_on,
            sensitive=q.sensitive,
            merged_into=tickets.get(q.merged_into) if q.merged_into else None,
            supporters=q.supporters,
            answered_in_room=q.answered_in_room,
            due_on=q.due_on,
        )
        for q, name in rows
    ]


async def _participants(
    session: AsyncSession, *, dialogue_id: int
) -> tuple[list[GroupCount], bool]:
    """The households that came, by group; when no attendance was recorded, those that
    accepted. Returns the counts and whether attendance was recorded."""
    rows = (
        await session.execute(
            select(
                Invitation.group,
                Invitation.status,
                Invitation.attended,
                Household.gender,
                Household.ethnicity,
                Household.category,
            )
            .join(Household, Household.id == Invitation.household_id)
            .where(Invitation.dialogue_id == dialogue_id)
        )
    ).all()
    recorded = any(row.attended is not None for row in rows)
    came = [
        row
        for row in rows
        if (row.attended is True if recorded else row.status == InvitationStatus.ACCEPTED)
    ]
    counts = []
    for group in GROUPS:
        members = [row for row in came if row.group == group]
        counts.append(
            GroupCount(
                group=group,
                households=len(members),
                women=sum(1 for row in members if row.gender == "female"),
                minorities=sum(1 for row in members if is_minority(row.ethnicity)),
                poor_or_near_poor=sum(1 for row in members if row.category in POOR_OR_NEAR_POOR),
            )
        )
    return counts, recorded


async def _officials(
    session: AsyncSession, *, dialogue_id: int, question_ids: list[str]
) -> list[Official]:
    answered = select(Answer.staff_id).where(Answer.question_id.in_(question_ids))
    committed = select(Commitment.staff_id).where(Commitment.dialogue_id == dialogue_id)
    rows = await session.execute(
        select(Staff.name, Staff.agency)
        .where(
            Staff.role == "official",
            or_(Staff.id.in_(answered), Staff.id.in_(committed)),
        )
        .distinct()
        .order_by(Staff.agency, Staff.name)
    )
    return [Official(name, agency) for name, agency in rows]
