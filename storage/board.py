"""What the public board shows: dialogues, the questions published from them, answers,
commitments and how they stand, each agency's record, and the entries of the feeds.

Everything here is public, so nothing here reads an asker: no account, no hash, no handle,
no day a question came. The queries name the columns they take from `questions`, and the
types they return have no field that could hold an asker. A question the facilitator marked
sensitive is published only through its answers: no text, no ticket, no topic, no supporters;
its commitments show their agency, deadline and status, never their content.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Answer, Commitment, Dialogue, Question

# Questions the facilitator approved for publication, and what came of them. New ones are not
# read yet, rejected ones were refused, merged ones live on in the question they joined.
PUBLISHED = ("approved", "answered", "committed", "fulfilled", "reopened")

# Where a question stands, as the board says it.
WAITING, ANSWERED, COMMITTED, OVERDUE, FULFILLED, REOPENED = (
    "waiting",
    "answered",
    "committed",
    "overdue",
    "fulfilled",
    "reopened",
)
STATES = (WAITING, ANSWERED, COMMITTED, OVERDUE, FULFILLED, REOPENED)

# How many ended dialogues the home page shows, and how many entries the feeds carry.
RECENT_RESULTS = 10
FEED_SIZE = 50


@dataclass(frozen=True)
class BoardAnswer:
    id: int
    agency: str
    text: str
    in_room: bool  # given at the dialogue itself
    published_at: datetime


@dataclass(frozen=True)
class BoardCommitment:
    id: int
    dialogue_id: int
    agency: str
    content: str  # empty when private
    due_on: date
    responsible: str  # empty when private
    status: str  # open, fulfilled
    progress: str  # empty when private
    version: int
    made_at: datetime
    updated_at: datetime
    fulfilled_on: date | None
    private: bool  # made on a sensitive question: only agency, deadline and status are public
    on_question: bool  # on a question, rather than for the dialogue as a whole

    def overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_on < today

    @property
    def kept_on_time(self) -> bool:
        return (
            self.status == "fulfilled"
            and self.fulfilled_on is not None
            and self.fulfilled_on <= self.due_on
        )


@dataclass(frozen=True)
class BoardQuestion:
    anchor: str  # the fragment that finds it on its dialogue's page
    ticket: str | None  # None when sensitive
    topic: str | None  # None when sensitive
    agency: str
    text: str | None  # None when sensitive
    sensitive: bool
    status: str
    supporters: int  # people who asked the same besides the asker (0 shown when sensitive)
    answered_in_room: bool
    due_on: date | None  # the agency's deadline to answer, once it has one
    answers: list[BoardAnswer]
    commitments: list[BoardCommitment]

    def state(self, today: date) -> str:
        """Waiting, answered, committed, overdue, fulfilled or reopened, as of `today`."""
        if self.status == "reopened":
            return REOPENED
        if self.status == "approved":
            late = self.due_on is not None and self.due_on < today
            return OVERDUE if late else WAITING
        if any(c.overdue(today) for c in self.commitments):
            return OVERDUE
        if self.status == "fulfilled":
            return FULFILLED
        if self.status == "committed":
            return COMMITTED
        return ANSWERED

    def overdue(self, today: date) -> bool:
        return self.state(today) == OVERDUE

    @property
    def answered(self) -> bool:
        return (
            bool(self.answers)
            or self.answered_in_room
            or self.status in ("answered", "committed", "fulfilled")
        )

    @property
    def people(self) -> int:
        """The asker and everyone who asked the same."""
        return 1 + self.supporters


@dataclass(frozen=True)
class Tally:
    """A dialogue's figures, as of one day."""

    asked: int = 0  # questions published (sensitive ones included: a number names no one)
    answered: int = 0
    waiting: int = 0  # not answered yet
    overdue_questions: int = 0  # not answered, past the agency's deadline
    commitments: int = 0
    kept_on_time: int = 0  # fulfilled by their deadline
    fulfilled_late: int = 0
    in_progress: int = 0  # open, deadline not passed
    overdue_commitments: int = 0  # open, deadline passed

    @property
    def fulfilled(self) -> int:
        return self.kept_on_time + self.fulfilled_late


@dataclass
class DialogueBoard:
    dialogue: Dialogue
    questions: list[BoardQuestion]  # the published ones, sensitive ones only with an answer
    general_commitments: list[BoardCommitment]  # made for the dialogue as a whole
    tally: Tally
    private_unanswered: int = 0  # sensitive questions kept off the page (no answer yet)

    @property
    def topics(self) -> list[str]:
        return sorted({q.topic for q in self.questions if q.topic})

    @property
    def agencies(self) -> list[str]:
        return sorted({q.agency for q in self.questions})


@dataclass(frozen=True)
class DialogueResult:
    dialogue: Dialogue
    tally: Tally


@dataclass(frozen=True)
class AgencyCommitment:
    commitment: BoardCommitment
    dialogue_id: int
    dialogue_title: str
    dialogue_kind: str
    question_anchor: str | None  # where its question is on the dialogue's page
    question_text: str | None  # None when private or made for the dialogue as a whole


@dataclass
class AgencyBoard:
    agency: Agency
    commitments: list[AgencyCommitment]  # deadline first
    questions: int = 0  # published questions it has to answer or has answered
    answered: int = 0
    waiting: int = 0
    overdue_questions: int = 0
    by_state: dict[str, list[AgencyCommitment]] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedEntry:
    key: str  # stable: "answer-12", "commitment-7", "commitment-7-v3"
    kind: str  # answer, commitment_made, commitment_updated, commitment_fulfilled
    at: datetime
    dialogue_id: int
    dialogue_title: str
    dialogue_kind: str
    agency: str
    anchor: str  # on the dialogue's page
    question_text: str | None  # None when sensitive, or for a general commitment
    text: str  # the answer, or the commitment's content (empty when private)
    in_room: bool = False
    due_on: date | None = None
    progress: str = ""
    fulfilled_on: date | None = None
    private: bool = False


def ends_at(dialogue: Dialogue) -> datetime | None:
    if dialogue.starts_at is None:
        return None
    return dialogue.starts_at + timedelta(minutes=dialogue.duration_minutes)


def question_anchor(ticket: str) -> str:
    return f"q-{ticket.lower()}"


def tally(
    questions: list[BoardQuestion],
    commitments: list[BoardCommitment],
    *,
    today: date,
    private_unanswered: int = 0,
) -> Tally:
    answered = sum(1 for q in questions if q.answered)
    unanswered = [q for q in questions if not q.answered]
    return Tally(
        asked=len(questions) + private_unanswered,
        answered=answered,
        waiting=len(unanswered) + private_unanswered,
        overdue_questions=sum(1 for q in unanswered if q.overdue(today)),
        commitments=len(commitments),
        kept_on_time=sum(1 for c in commitments if c.kept_on_time),
        fulfilled_late=sum(
            1 for c in commitments if c.status == "fulfilled" and not c.kept_on_time
        ),
        in_progress=sum(1 for c in commitments if c.status == "open" and not c.overdue(today)),
        overdue_commitments=sum(1 for c in commitments if c.overdue(today)),
    )


# Loading


@dataclass
class _Loaded:
    questions: dict[int, list[BoardQuestion]]  # by dialogue
    general: dict[int, list[BoardCommitment]]  # commitments for a dialogue as a whole
    private_unanswered: dict[int, int]


def _commitment(c: Commitment, *, private: bool) -> BoardCommitment:
    return BoardCommitment(
        id=c.id,
        dialogue_id=c.dialogue_id,
        agency=c.agency,
        content="" if private else c.content,
        due_on=c.due_on,
        responsible="" if private else c.responsible,
        status=c.status,
        progress="" if private else c.progress,
        version=c.version,
        made_at=c.made_at,
        updated_at=c.updated_at,
        fulfilled_on=c.fulfilled_on,
        private=private,
        on_question=c.question_id is not None,
    )


# The question's columns the board may read: never account_id, asker_hash, reply_handle,
# submitted_on, reject_reason or reopen_reason.
_QUESTION_COLUMNS = (
    Question.id,
    Question.dialogue_id,
    Question.ticket,
    Question.topic,
    Question.agency,
    Question.text,
    Question.status,
    Question.sensitive,
    Question.supporters,
    Question.answered_in_room,
    Question.due_on,
)


async def _load(session: AsyncSession, *, dialogue_ids: list[int]) -> _Loaded:
    """The published questions of these dialogues with their answers and commitments, and the
    commitments made for each dialogue as a whole."""
    loaded = _Loaded(defaultdict(list), defaultdict(list), defaultdict(int))
    if not dialogue_ids:
        return loaded
    rows = (
        await session.execute(
            select(*_QUESTION_COLUMNS)
            .where(
                Question.dialogue_id.in_(dialogue_ids),
                Question.status.in_(PUBLISHED),
                Question.merged_into.is_(None),
            )
            .order_by(Question.supporters.desc(), Question.ticket)
        )
    ).all()
    ids = [row.id for row in rows]
    answers: dict[str, list[BoardAnswer]] = defaultdict(list)
    if ids:
        for a in await session.scalars(
            select(Answer)
            .where(Answer.question_id.in_(ids))
            .order_by(Answer.published_at, Answer.id)
        ):
            answers[a.question_id].append(
                BoardAnswer(a.id, a.agency, a.text, a.in_room, a.published_at)
            )
    sensitive = {row.id for row in rows if row.sensitive}
    commitments: dict[str, list[BoardCommitment]] = defaultdict(list)
    published = set(ids)
    for c in await session.scalars(
        select(Commitment)
        .where(Commitment.dialogue_id.in_(dialogue_ids))
        .order_by(Commitment.due_on, Commitment.id)
    ):
        if c.question_id is None:
            loaded.general[c.dialogue_id].append(_commitment(c, private=False))
        elif c.question_id in published:
            commitments[c.question_id].append(_commitment(c, private=c.question_id in sensitive))
    for row in rows:
        if row.sensitive and not answers[row.id]:
            # Nothing of it may be shown; it is counted, as a number names no one.
            loaded.private_unanswered[row.dialogue_id] += 1
            continue
        loaded.questions[row.dialogue_id].append(
            BoardQuestion(
                anchor=(
                    f"p-{answers[row.id][0].id}" if row.sensitive else question_anchor(row.ticket)
                ),
                ticket=None if row.sensitive else row.ticket,
                topic=None if row.sensitive else row.topic,
                agency=row.agency,
                text=None if row.sensitive else row.text,
                sensitive=row.sensitive,
                status=row.status,
                supporters=0 if row.sensitive else row.supporters,
                answered_in_room=row.answered_in_room,
                due_on=row.due_on,
                answers=answers[row.id],
                commitments=commitments[row.id],
            )
        )
    return loaded


def _all_commitments(loaded: _Loaded, dialogue_id: int) -> list[BoardCommitment]:
    on_questions = [c for q in loaded.questions[dialogue_id] for c in q.commitments]
    return on_questions + loaded.general[dialogue_id]


async def _private_commitments(
    session: AsyncSession, *, dialogue_ids: list[int]
) -> dict[int, list[BoardCommitment]]:
    """Commitments on sensitive questions that have no answer: not on the page with a
    question, but counted and listed on their agency's record without their content."""
    found: dict[int, list[BoardCommitment]] = defaultdict(list)
    if not dialogue_ids:
        return found
    answered = select(Answer.question_id)
    rows = await session.scalars(
        select(Commitment)
        .join(Question, Question.id == Commitment.question_id)
        .where(
            Commitment.dialogue_id.in_(dialogue_ids),
            Question.sensitive.is_(True),
            Question.status.in_(PUBLISHED),
            Question.merged_into.is_(None),
            Question.id.not_in(answered),
        )
        .order_by(Commitment.due_on, Commitment.id)
    )
    for c in rows:
        found[c.dialogue_id].append(_commitment(c, private=True))
    return found


# Pages


async def upcoming(session: AsyncSession, *, now: datetime) -> list[Dialogue]:
    """Sessions that have not ended yet, the soonest first; cancelled ones too (people who saw
    the notice must learn that it is off)."""
    rows = await session.scalars(
        select(Dialogue)
        .where(Dialogue.kind == "session", Dialogue.starts_at.is_not(None))
        .order_by(Dialogue.starts_at, Dialogue.id)
    )
    return [d for d in rows if (end := ends_at(d)) is not None and end > now]


async def recent_results(
    session: AsyncSession, *, now: datetime, today: date, limit: int = RECENT_RESULTS
) -> list[DialogueResult]:
    """Sessions that took place (ended, not cancelled), the latest first, with their figures."""
    rows = await session.scalars(
        select(Dialogue)
        .where(
            Dialogue.kind == "session",
            Dialogue.status != "cancelled",
            Dialogue.starts_at.is_not(None),
            Dialogue.starts_at <= now,
        )
        .order_by(Dialogue.starts_at.desc(), Dialogue.id.desc())
    )
    ended = [d for d in rows if (end := ends_at(d)) is not None and end <= now][:limit]
    ids = [d.id for d in ended]
    loaded = await _load(session, dialogue_ids=ids)
    private = await _private_commitments(session, dialogue_ids=ids)
    return [
        DialogueResult(
            d,
            tally(
                loaded.questions[d.id],
                _all_commitments(loaded, d.id) + private[d.id],
                today=today,
                private_unanswered=loaded.private_unanswered[d.id],
            ),
        )
        for d in ended
    ]


async def general_intake(session: AsyncSession) -> Dialogue | None:
    return await session.scalar(select(Dialogue).where(Dialogue.kind == "general"))


async def dialogue_board(
    session: AsyncSession, *, dialogue_id: int, today: date
) -> DialogueBoard | None:
    """A dialogue's published questions, the most supported first; None if there is none."""
    dialogue = await session.get(Dialogue, dialogue_id)
    if dialogue is None:
        return None
    loaded = await _load(session, dialogue_ids=[dialogue_id])
    private = await _private_commitments(session, dialogue_ids=[dialogue_id])
    questions = loaded.questions[dialogue_id]
    return DialogueBoard(
        dialogue=dialogue,
        questions=questions,
        general_commitments=loaded.general[dialogue_id],
        tally=tally(
            questions,
            _all_commitments(loaded, dialogue_id) + private[dialogue_id],
            today=today,
            private_unanswered=loaded.private_unanswered[dialogue_id],
        ),
        private_unanswered=loaded.private_unanswered[dialogue_id],
    )


def select_questions(
    questions: list[BoardQuestion],
    *,
    today: date,
    topic: str | None = None,
    agency: str | None = None,
    state: str | None = None,
) -> list[BoardQuestion]:
    """The questions that pass the filters (None: any). A sensitive question has no public
    topic, so a topic filter leaves it out."""
    return [
        q
        for q in questions
        if (topic is None or q.topic == topic)
        and (agency is None or q.agency == agency)
        and (state is None or q.state(today) == state)
    ]


async def find_agency(session: AsyncSession, *, code: str) -> Agency | None:
    if not code or len(code) > 32:
        return None
    return await session.get(Agency, code)


async def agency_names(session: AsyncSession) -> dict[str, str]:
    """Every agency's name as stored, by code (seeded ones are catalog message ids)."""
    return dict((await session.execute(select(Agency.code, Agency.name))).all())


async def agencies(session: AsyncSession) -> list[Agency]:
    """Every agency that is active or has a record on the board, by code."""
    recorded = select(Commitment.agency).union(
        select(Question.agency).where(Question.status.in_(PUBLISHED))
    )
    rows = await session.scalars(
        select(Agency)
        .where(or_(Agency.active.is_(True), Agency.code.in_(recorded)))
        .order_by(Agency.code)
    )
    return list(rows)


async def agency_board(session: AsyncSession, *, code: str, today: date) -> AgencyBoard | None:
    """An agency's commitments across dialogues (deadline first) and how its questions stand;
    None if there is no such agency."""
    agency = await find_agency(session, code=code)
    if agency is None:
        return None
    dialogues = {
        d.id: d
        for d in await session.scalars(
            select(Dialogue).where(
                Dialogue.id.in_(
                    select(Commitment.dialogue_id)
                    .where(Commitment.agency == code)
                    .union(
                        select(Question.dialogue_id).where(
                            Question.agency == code, Question.status.in_(PUBLISHED)
                        )
                    )
                )
            )
        )
    }
    loaded = await _load(session, dialogue_ids=list(dialogues))
    private = await _private_commitments(session, dialogue_ids=list(dialogues))
    board = AgencyBoard(agency=agency, commitments=[])
    for dialogue_id, dialogue in dialogues.items():
        for q in loaded.questions[dialogue_id]:
            if q.agency == code:
                board.questions += 1
                if q.answered:
                    board.answered += 1
                else:
                    board.waiting += 1
                    board.overdue_questions += q.overdue(today)
            for c in q.commitments:
                if c.agency == code:
                    board.commitments.append(
                        AgencyCommitment(
                            c, dialogue_id, dialogue.title, dialogue.kind, q.anchor, q.text
                        )
                    )
        for c in loaded.general[dialogue_id] + private[dialogue_id]:
            if c.agency == code:
                board.commitments.append(
                    AgencyCommitment(c, dialogue_id, dialogue.title, dialogue.kind, None, None)
                )
    unanswered_private = sum(
        1
        for _ in await session.scalars(
            select(Question.id).where(
                Question.agency == code,
                Question.sensitive.is_(True),
                Question.status.in_(PUBLISHED),
                Question.merged_into.is_(None),
                Question.id.not_in(select(Answer.question_id)),
            )
        )
    )
    board.questions += unanswered_private
    board.waiting += unanswered_private
    board.commitments.sort(key=lambda a: (a.commitment.due_on, a.commitment.id))
    board.by_state = {
        OVERDUE: [a for a in board.commitments if a.commitment.overdue(today)],
        "in_progress": [
            a
            for a in board.commitments
            if a.commitment.status == "open" and not a.commitment.overdue(today)
        ],
        FULFILLED: [a for a in board.commitments if a.commitment.status == "fulfilled"],
    }
    return board


# Feeds and sitemap


async def feed_entries(session: AsyncSession, *, limit: int = FEED_SIZE) -> list[FeedEntry]:
    """Published answers and commitment updates (made, updated, fulfilled), the newest first.

    A commitment's update replaces its previous update in the feed (the database keeps the
    latest progress only); the entry of its making stays.
    """
    dialogues = {d.id: d for d in await session.scalars(select(Dialogue))}
    loaded = await _load(session, dialogue_ids=list(dialogues))
    private = await _private_commitments(session, dialogue_ids=list(dialogues))
    entries: list[FeedEntry] = []

    def commitment_entries(
        c: BoardCommitment, dialogue: Dialogue, anchor: str, question_text: str | None
    ) -> None:
        made = FeedEntry(
            key=f"commitment-{c.id}",
            kind="commitment_made",
            at=c.made_at,
            dialogue_id=dialogue.id,
            dialogue_title=dialogue.title,
            dialogue_kind=dialogue.kind,
            agency=c.agency,
            anchor=anchor,
            question_text=question_text,
            text=c.content,
            due_on=c.due_on,
            private=c.private,
        )
        entries.append(made)
        if c.version > 1:
            entries.append(
                replace(
                    made,
                    key=f"commitment-{c.id}-v{c.version}",
                    kind="commitment_fulfilled"
                    if c.status == "fulfilled"
                    else "commitment_updated",
                    at=c.updated_at,
                    progress=c.progress,
                    fulfilled_on=c.fulfilled_on,
                )
            )

    for dialogue_id, dialogue in dialogues.items():
        for q in loaded.questions[dialogue_id]:
            for a in q.answers:
                entries.append(
                    FeedEntry(
                        key=f"answer-{a.id}",
                        kind="answer",
                        at=a.published_at,
                        dialogue_id=dialogue_id,
                        dialogue_title=dialogue.title,
                        dialogue_kind=dialogue.kind,
                        agency=a.agency,
                        anchor=q.anchor,
                        question_text=q.text,
                        text=a.text,
                        in_room=a.in_room,
                        private=q.sensitive,
                    )
                )
            for c in q.commitments:
                commitment_entries(c, dialogue, q.anchor, q.text)
        for c in loaded.general[dialogue_id]:
            commitment_entries(c, dialogue, f"c-{c.id}", None)
        for c in private[dialogue_id]:
            commitment_entries(c, dialogue, f"c-{c.id}", None)
    entries.sort(key=lambda e: (e.at, e.key), reverse=True)
    return entries[:limit]


async def public_dialogues(session: AsyncSession) -> list[Dialogue]:
    """Every dialogue with a page: the general intake, then the sessions, latest first."""
    rows = await session.scalars(
        select(Dialogue).order_by(
            (Dialogue.kind != "general"), Dialogue.starts_at.desc(), Dialogue.id
        )
    )
    return list(rows)
