"""What the daily digests are made of: counts over a ward's questions, commitments and
invitations for its facilitator, the overdue items of an agency for its officials, the staff
they go to, and the once-a-day marks that keep each digest to one a day.

Only numbers and agencies leave this module for the facilitator: nothing here reads who asked
a question (no account, no name, no address), nor a question's text.

It also finds what did not reach households: the messages of a dialogue (invitation,
reminders, notices) that ended undelivered, for the ward's printed list, and the count of
messages the platform's window stopped (news of questions included, counted only).
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
    DialogueStatus,
    InvitationStatus,
    OutboxStatus,
    QuestionStatus,
)
from storage import invitations as inv
from storage import outbox as outbox_store
from storage import voice as voice_store
from storage.links import link_channels
from storage.models import (
    Account,
    Answer,
    Commitment,
    DailyJob,
    Dialogue,
    Household,
    HouseholdLink,
    Invitation,
    OutboxMessage,
    Question,
    Reminder,
    Staff,
)
from storage.outbox import SEALED, UNDELIVERED, VIA, via_key
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
    of_ward = Question.dialogue_id.in_(ids)

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
    digest.voice = await voice_store.pending_count(session, dialogue_ids=ids)

    yesterday = day - timedelta(days=1)
    rows = await session.execute(
        select(Question.topic, func.count())
        .where(of_ward, Question.submitted_on == yesterday)
        .group_by(Question.topic)
    )
    digest.new_by_topic = {topic: n for topic, n in rows}

    since, until = local_midnight(yesterday, zone), local_midnight(day, zone)
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

    digest.overdue = await _overdue_by_agency(session, dialogue_ids=ids, day=day)
    for dialogue in dialogues:
        if (
            dialogue.kind == "session"
            and dialogue.status == DialogueStatus.PLANNED
            and dialogue.starts_at is not None
            and dialogue.starts_at > now
        ):
            digest.invitations.append(await _tally(session, dialogue=dialogue))
    digest.invitations.sort(key=lambda tally: tally.dialogue.starts_at or now)
    digest.window_stopped = await window_stopped(
        session, dialogue_ids=ids, since=now - timedelta(days=1)
    )
    return digest


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


# ------------------------------------------------------------------ what did not reach people

# The outbox keys of a dialogue's messages to its households (bot.services.invitations), and of
# the news of its questions (bot.services.pushback): "invite:D:HOUSEHOLD:CHANNEL",
# "remind:REMINDER:HOUSEHOLD", "moved:D:START:HOUSEHOLD", "cancelled:D:HOUSEHOLD",
# "sealed:D:HASH"; a copy sent through another channel adds ":via:CHANNEL".
HOUSEHOLD_KINDS = ("invite", "moved", "cancelled")


@dataclass(frozen=True)
class Stopped:
    """A message that ended undelivered, as last tried (its copy's, if it had one)."""

    key: str
    channel: str
    status: str


async def _reminders(session: AsyncSession, dialogue_ids: list[int]) -> dict[int, Reminder]:
    if not dialogue_ids:
        return {}
    rows = await session.scalars(select(Reminder).where(Reminder.dialogue_id.in_(dialogue_ids)))
    return {r.id: r for r in rows}


async def _stopped(
    session: AsyncSession,
    *,
    prefixes: list[str],
    statuses: tuple[str, ...],
    since: datetime | None = None,
) -> list[Stopped]:
    """The messages whose key starts with one of `prefixes`, ended in one of `statuses` (tried
    since `since`) and not delivered another way: a copy through another channel that was
    sent, or may have been (unknown), or is still on its way, counts as delivered.

    The rows are found by status first (few, and indexed), then by key; copies by their exact
    keys, so that the outbox's size does not matter.
    """
    if not prefixes:
        return []
    query = select(OutboxMessage.key, OutboxMessage.channel, OutboxMessage.status).where(
        OutboxMessage.status.in_(statuses),
        or_(*[OutboxMessage.key.startswith(p, autoescape=True) for p in prefixes]),
        OutboxMessage.key.not_like(f"%{VIA}%"),
    )
    if since is not None:
        query = query.where(OutboxMessage.send_at >= since)
    originals = [
        Stopped(key, channel, status) for key, channel, status in await session.execute(query)
    ]
    channels = await link_channels(session)
    stopped = [o for o in originals if o.status != OutboxStatus.WINDOW]
    windowed = [o for o in originals if o.status == OutboxStatus.WINDOW]
    copies: dict[str, Stopped] = {}
    keys = [via_key(o.key, c) for o in windowed for c in channels if c != o.channel]
    for start in range(0, len(keys), 500):
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.channel, OutboxMessage.status).where(
                OutboxMessage.key.in_(keys[start : start + 500])
            )
        )
        for key, channel, status in rows:
            copies[key.split(VIA, 1)[0]] = Stopped(key, channel, status)
    for original in windowed:
        copy = copies.get(original.key)
        if copy is None:
            stopped.append(original)
        elif copy.status in UNDELIVERED:
            stopped.append(Stopped(original.key, copy.channel, copy.status))
    return stopped


def _dialogue_prefixes(
    dialogue_ids: list[int], reminders: dict[int, Reminder], *, news: bool
) -> list[str]:
    prefixes = [f"{kind}:{d}:" for d in dialogue_ids for kind in HOUSEHOLD_KINDS]
    prefixes += [f"remind:{r}:" for r in reminders]
    if news:
        prefixes += [f"{SEALED}{d}:" for d in dialogue_ids]
    return prefixes


async def window_stopped(session: AsyncSession, *, dialogue_ids: list[int], since: datetime) -> int:
    """How many messages of these dialogues the platform's window stopped since `since` and
    that did not reach the person another way: invitations, reminders and notices to
    households, and the news of their questions to askers and followers (counted only: the
    keys of those name no one)."""
    reminders = await _reminders(session, dialogue_ids)
    found = await _stopped(
        session,
        prefixes=_dialogue_prefixes(dialogue_ids, reminders, news=True),
        statuses=(OutboxStatus.WINDOW,),
        since=since,
    )
    return len(found)


@dataclass(frozen=True)
class Missed:
    """One message of a dialogue that did not reach a household."""

    kind: str  # invite, remind, moved, cancelled
    reminder: Reminder | None  # the reminder, for "remind"
    channel: str  # where it was last tried
    status: str  # window, unreachable, failed, unknown (may not have arrived)


@dataclass
class UndeliveredHousehold:
    household: Household
    missed: list[Missed] = field(default_factory=list)


def _household_of(key: str) -> int | None:
    """The household a dialogue message went to, from its key: the last number in it (an old
    key may end with the channel)."""
    parts = key.split(VIA, 1)[0].split(":")
    if parts and not parts[-1].isdigit():
        parts = parts[:-1]
    return int(parts[-1]) if parts and parts[-1].isdigit() else None


async def undelivered(session: AsyncSession, *, dialogue_id: int) -> list[UndeliveredHousehold]:
    """The households of a dialogue whose invitation, reminders or notices ended undelivered
    (stopped by the window, unreachable or refused) or may not have arrived (cut off while
    sending: unknown), and did not reach them another way, by hamlet and code: the ward reads
    them out or takes them by hand. Messages to households only: nothing of askers or of the
    news of questions."""
    reminders = await _reminders(session, [dialogue_id])
    found = await _stopped(
        session,
        prefixes=_dialogue_prefixes([dialogue_id], reminders, news=False),
        statuses=(*UNDELIVERED, OutboxStatus.UNKNOWN),
    )
    missed: dict[int, list[Missed]] = defaultdict(list)
    for item in found:
        household_id = _household_of(item.key)
        kind = item.key.split(":", 1)[0]
        if household_id is None:
            continue
        reminder = reminders.get(int(item.key.split(":")[1])) if kind == "remind" else None
        missed[household_id].append(Missed(kind, reminder, item.channel, item.status))
    if not missed:
        return []
    households = await session.scalars(select(Household).where(Household.id.in_(list(missed))))
    order = {"invite": 0, "remind": 1, "moved": 2, "cancelled": 3}

    def when(m: Missed) -> tuple[int, float]:
        return order.get(m.kind, 9), m.reminder.due_at.timestamp() if m.reminder else 0.0

    result = [UndeliveredHousehold(h, sorted(missed[h.id], key=when)) for h in households]
    return sorted(result, key=lambda u: (u.household.hamlet, u.household.code))


@dataclass(frozen=True)
class UnknownMessage:
    """A message whose fate is unknown (its process died mid-request): it may have arrived."""

    id: int
    kind: str  # invite, remind, moved, cancelled, or another key's first word
    channel: str
    household: Household | None  # for a household's own message
    created_at: datetime
    resendable: bool  # kept its text: the organiser may send it again


async def unknown_messages(
    session: AsyncSession, *, dialogue_id: int | None = None
) -> list[UnknownMessage]:
    """Every message whose fate is unknown, or a dialogue's (its households' invitation,
    reminders and notices), oldest first."""
    prefixes = None
    if dialogue_id is not None:
        reminders = await _reminders(session, [dialogue_id])
        prefixes = _dialogue_prefixes([dialogue_id], reminders, news=False)
    rows = await outbox_store.unknown(session, prefixes=prefixes)
    kinds = {"invite", "remind", "moved", "cancelled"}
    ids = {
        household
        for _, key, *_ in rows
        if key.split(":", 1)[0] in kinds and (household := _household_of(key)) is not None
    }
    households = {
        h.id: h for h in await session.scalars(select(Household).where(Household.id.in_(list(ids))))
    }
    found = []
    for row_id, key, channel, _recipient, created_at, resendable in rows:
        kind = key.split(":", 1)[0]
        household = households.get(_household_of(key)) if kind in kinds else None
        found.append(UnknownMessage(row_id, kind, channel, household, created_at, resendable))
    return found


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
