"""What the daily digests are made of: counts over a ward's questions, commitments and
invitations for its facilitator, the overdue items of an agency for its officials, the staff
they go to, and the once-a-day marks that keep each digest to one a day.

Only numbers and agencies leave this module for the facilitator: nothing here reads who asked
a question (no account, no name, no address), nor a question's text.

What did not reach households (counted in a ward's digest) is found in storage/undelivered.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import (
    CommitmentStatus,
    InvitationStatus,
    OutboxStatus,
    QuestionStatus,
)
from storage import invitations as inv
from storage import voice as voice_store
from storage.models import (
    Account,
    Answer,
    Commitment,
    DailyJob,
    Dialogue,
    HouseholdLink,
    Invitation,
    OutboxMessage,
    Question,
    Staff,
)
from storage.undelivered import window_stopped
from storage.upsert import upsert

# Where a question stands, as the digest groups it (rejected and merged ones are not counted).
MODERATION, WAITING, ANSWERED, COMMITTED = "moderation", "waiting", "answered", "committed"
STATES = (MODERATION, WAITING, ANSWERED, COMMITTED)
STATE_OF = {
    QuestionStatus.NEW: MODERATION,
    QuestionStatus.REOPENED: MODERATION,
    QuestionStatus.APPROVED: WAITING,
    QuestionStatus.ANSWERED: ANSWERED,
    QuestionStatus.COMMITTED: COMMITTED,
    QuestionStatus.FULFILLED: COMMITTED,
}
# A question waits for its agency while approved; past its due_on it is overdue.
UNANSWERED = (QuestionStatus.APPROVED,)


@dataclass(frozen=True)
class OverdueCount:
    agency: str
    questions: int = 0
    commitments: int = 0


@dataclass(frozen=True)
class InvitationTally:
    """Where one upcoming dialogue's invitations stand against its quotas."""

    dialogue: Dialogue
    accepted: int
    priority_accepted: int  # of the poor, near-poor and newly out of poverty
    declined: int
    no_answer: int  # invited in their chat, no answer yet
    letters: int  # no chat: a printed letter
    unreachable: int  # households the bot cannot reach any more (blocked, chat gone)


@dataclass
class WardDigest:
    """A facilitator's ward as of the morning of `day`."""

    ward: str
    day: date
    new_by_topic: dict[str, int] = field(default_factory=dict)  # submitted the day before
    by_topic: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> state -> n
    new: int = 0  # waiting for moderation
    reopened: int = 0  # "Chưa hài lòng": back with the facilitator
    waiting: int = 0  # approved, waiting for an agency's answer
    answered: int = 0  # answered so far (without a commitment)
    committed: int = 0  # with a commitment (open or fulfilled)
    answered_yesterday: int = 0  # questions answered or committed the day before
    overdue: list[OverdueCount] = field(default_factory=list)
    invitations: list[InvitationTally] = field(default_factory=list)
    # messages stopped by the window in the last day and not delivered another way
    window_stopped: int = 0
    voice: int = 0  # asked by voice and not written down yet (so never expired silently)

    @property
    def new_yesterday(self) -> int:
        return sum(self.new_by_topic.values())


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


async def ward_dialogues(session: AsyncSession, *, ward: str) -> list[Dialogue]:
    """The general intake and the sessions whose wards include `ward`. A handful of rows: the
    wards list is JSON, filtered here the same way on SQLite and PostgreSQL."""
    rows = await session.scalars(select(Dialogue).order_by(Dialogue.id))
    return [d for d in rows if d.kind == "general" or ward in (d.wards or [])]


async def ward_digest(
    session: AsyncSession, *, ward: str, day: date, now: datetime, zone: ZoneInfo
) -> WardDigest:
    """The numbers of a facilitator's digest for the morning of `day` (local date)."""
    digest = WardDigest(ward=ward, day=day)
    dialogues = await ward_dialogues(session, ward=ward)
    ids = [d.id for d in dialogues]
    await _count_by_topic(session, digest, dialogue_ids=ids)
    digest.voice = await voice_store.pending_count(session, dialogue_ids=ids)
    await _count_yesterday(session, digest, dialogue_ids=ids, zone=zone)
    digest.overdue = await _overdue_by_agency(session, dialogue_ids=ids, day=day)
    for dialogue in dialogues:
        if (
            dialogue.kind == "session"
            and dialogue.status == "planned"
            and dialogue.starts_at is not None
            and dialogue.starts_at > now
        ):
            digest.invitations.append(await _tally(session, dialogue=dialogue))
    digest.invitations.sort(key=lambda tally: tally.dialogue.starts_at or now)
    digest.window_stopped = await window_stopped(
        session, dialogue_ids=ids, since=now - timedelta(days=1)
    )
    return digest


async def _count_by_topic(
    session: AsyncSession, digest: WardDigest, *, dialogue_ids: list[int]
) -> None:
    """The ward's questions by topic and state, and the new and reopened ones."""
    of_ward = Question.dialogue_id.in_(dialogue_ids)
    by_topic: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    rows = await session.execute(
        select(Question.topic, Question.status, func.count())
        .where(of_ward)
        .group_by(Question.topic, Question.status)
    )
    for topic, status, n in rows:
        state = STATE_OF.get(status)
        if state is not None:
            by_topic[topic][state] += n
        if status == QuestionStatus.NEW:
            digest.new += n
        elif status == QuestionStatus.REOPENED:
            digest.reopened += n
    digest.by_topic = dict(by_topic)
    digest.waiting = sum(s[WAITING] for s in by_topic.values())
    digest.answered = sum(s[ANSWERED] for s in by_topic.values())
    digest.committed = sum(s[COMMITTED] for s in by_topic.values())


async def _count_yesterday(
    session: AsyncSession, digest: WardDigest, *, dialogue_ids: list[int], zone: ZoneInfo
) -> None:
    """The ward's questions sent yesterday by topic, and those answered or committed to
    yesterday (local day)."""
    of_ward = Question.dialogue_id.in_(dialogue_ids)
    yesterday = digest.day - timedelta(days=1)
    rows = await session.execute(
        select(Question.topic, func.count())
        .where(of_ward, Question.submitted_on == yesterday)
        .group_by(Question.topic)
    )
    digest.new_by_topic = {topic: n for topic, n in rows}

    since, until = local_midnight(yesterday, zone), local_midnight(digest.day, zone)
    answered = exists().where(
        Answer.question_id == Question.id,
        Answer.published_at >= since,
        Answer.published_at < until,
    )
    committed = exists().where(
        Commitment.question_id == Question.id,
        Commitment.made_at >= since,
        Commitment.made_at < until,
    )
    digest.answered_yesterday = (
        await session.scalar(
            select(func.count()).select_from(Question).where(of_ward, or_(answered, committed))
        )
        or 0
    )


async def _overdue_by_agency(
    session: AsyncSession, *, dialogue_ids: list[int], day: date
) -> list[OverdueCount]:
    """Unanswered questions and open commitments whose deadline is before `day`, by agency,
    the most overdue first."""
    questions = dict(
        (
            await session.execute(
                select(Question.agency, func.count())
                .where(
                    Question.dialogue_id.in_(dialogue_ids),
                    Question.status.in_(UNANSWERED),
                    Question.due_on < day,
                )
                .group_by(Question.agency)
            )
        ).all()
    )
    commitments = dict(
        (
            await session.execute(
                select(Commitment.agency, func.count())
                .where(
                    Commitment.dialogue_id.in_(dialogue_ids),
                    Commitment.status == CommitmentStatus.OPEN,
                    Commitment.due_on < day,
                )
                .group_by(Commitment.agency)
            )
        ).all()
    )
    counts = [
        OverdueCount(agency, questions.get(agency, 0), commitments.get(agency, 0))
        for agency in set(questions) | set(commitments)
    ]
    return sorted(counts, key=lambda c: (-(c.questions + c.commitments), c.agency))


async def _tally(session: AsyncSession, *, dialogue: Dialogue) -> InvitationTally:
    counts = await inv.counts(session, dialogue_id=dialogue.id)

    def total(status: str) -> int:
        return sum(n for (_, s), n in counts.items() if s == status)

    # Unreachable: the invitation itself could not be delivered, or a chat linked to the
    # household has blocked the bot since (the account is marked unreachable).
    invitation_key = (
        literal(f"invite:{dialogue.id}:")
        + cast(Invitation.household_id, String)
        + literal(":")
        + Invitation.channel
    )
    undelivered = exists().where(
        OutboxMessage.key == invitation_key, OutboxMessage.status == OutboxStatus.UNREACHABLE
    )
    blocked = exists().where(
        HouseholdLink.household_id == Invitation.household_id,
        Account.channel == HouseholdLink.channel,
        Account.user_id == HouseholdLink.user_id,
        Account.unreachable_at.is_not(None),
    )
    unreachable = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.dialogue_id == dialogue.id,
            Invitation.status.in_(inv.EXPECTED),
            or_(undelivered, blocked),
        )
    )
    return InvitationTally(
        dialogue=dialogue,
        accepted=total(InvitationStatus.ACCEPTED),
        priority_accepted=counts.get(("priority", InvitationStatus.ACCEPTED), 0),
        declined=total(InvitationStatus.DECLINED),
        no_answer=total(InvitationStatus.INVITED),
        letters=total(InvitationStatus.LETTER),
        unreachable=unreachable or 0,
    )


@dataclass(frozen=True)
class OverdueQuestion:
    ticket: str
    text: str
    due_on: date


@dataclass(frozen=True)
class OverdueCommitment:
    ticket: str | None  # of the question it answers, if any
    content: str
    due_on: date


@dataclass
class AgencyOverdue:
    questions: list[OverdueQuestion] = field(default_factory=list)
    commitments: list[OverdueCommitment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.questions or self.commitments)


async def agencies_overdue(session: AsyncSession, *, day: date) -> set[str]:
    """The agencies with an unanswered question or an open commitment due before `day`."""
    late_questions = select(Question.agency).where(
        Question.status.in_(UNANSWERED), Question.due_on < day
    )
    late_commitments = select(Commitment.agency).where(
        Commitment.status == CommitmentStatus.OPEN, Commitment.due_on < day
    )
    rows = await session.scalars(late_questions.union(late_commitments))
    return set(rows)


async def agency_overdue(session: AsyncSession, *, agency: str, day: date) -> AgencyOverdue:
    """An agency's overdue questions and commitments, the longest overdue first. Tickets and
    texts only: the official sees these in the inbox anyway, and never who asked."""
    found = AgencyOverdue()
    rows = await session.execute(
        select(Question.ticket, Question.text, Question.due_on)
        .where(
            Question.agency == agency,
            Question.status.in_(UNANSWERED),
            Question.due_on < day,
        )
        .order_by(Question.due_on, Question.ticket)
    )
    found.questions = [OverdueQuestion(ticket, text, due) for ticket, text, due in rows]
    rows = await session.execute(
        select(Question.ticket, Commitment.content, Commitment.due_on)
        .select_from(Commitment)
        .outerjoin(Question, Question.id == Commitment.question_id)
        .where(
            Commitment.agency == agency,
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_on < day,
        )
        .order_by(Commitment.due_on, Commitment.id)
    )
    found.commitments = [OverdueCommitment(ticket, content, due) for ticket, content, due in rows]
    return found


async def active_staff(session: AsyncSession, *, role: str) -> list[Staff]:
    """Staff members holding `role` in a chat now (claimed and not revoked)."""
    rows = await session.scalars(
        select(Staff)
        .where(
            Staff.role == role,
            Staff.claimed_at.is_not(None),
            Staff.revoked_at.is_(None),
            Staff.channel.is_not(None),
            Staff.user_id.is_not(None),
        )
        .order_by(Staff.id)
    )
    return list(rows)


async def locale_of(session: AsyncSession, *, channel: str, user_id: str) -> str | None:
    return await session.scalar(
        select(Account.locale).where(and_(Account.channel == channel, Account.user_id == user_id))
    )


async def jobs_done(session: AsyncSession, *, keys: list[str]) -> set[str]:
    """Which of these once-a-day keys are written already."""
    if not keys:
        return set()
    return set(await session.scalars(select(DailyJob.key).where(DailyJob.key.in_(keys))))


async def claim_job(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """Mark a once-a-day job done; False if it was already (by this process or another).

    INSERT ... ON CONFLICT DO NOTHING: a second process inserting the same key waits for the
    first one's transaction and then inserts nothing, so only one of them goes on to write.
    """
    result = await session.execute(
        upsert(session, DailyJob, keys=["key"], values={"key": key, "done_at": now})
    )
    return (result.rowcount or 0) == 1
