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
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import CommitmentStatus, DialogueStatus, QuestionStatus
from storage.board_counts import ANSWERED_STATUSES, PUBLISHED, VERSION, day
from storage.dialogues import ends_at
from storage.dialogues import find_general_intake as general_intake  # noqa: F401 (bot/board.py)
from storage.models import Agency, Answer, BoardCount, Commitment, Dialogue, Question
from storage.staff import find_agency

# PUBLISHED: questions the facilitator approved for publication, and what came of them. New
# ones are not read yet, rejected ones were refused, merged ones live on in the question they
# joined. Every count the pages show is kept in board_counts (storage/board_counts.py); the
# pages read those and one page of rows, never all of a dialogue's questions.

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

# How many ended dialogues the home page shows, how many entries a page of a feed carries (and
# how far back the feeds' pages go), how many questions or commitments a page lists.
RECENT_RESULTS = 10
FEED_SIZE = 100
FEED_PAGES = 20
PAGE_SIZE = 30
MAX_PAGE = 10_000
GENERAL_COMMITMENTS = 100  # commitments for a dialogue as a whole shown on its page


@dataclass(frozen=True)
class BoardAnswer:
    id: int
    agency: str
    text: str
    in_room: bool  # given at the dialogue itself
    published_at: datetime


@dataclass(frozen=True)
class BoardDecision:
    """The adoption decision (tiếp thu) on a proposal or a commitment, as the board shows it."""

    decision: str  # adopted, partly, not_adopted, under_study (storage/decisions.py)
    reason: str  # empty when private
    change: str  # what changed in the policy; empty when private
    decided_on: date


def _decision(row: Any, *, private: bool) -> BoardDecision | None:
    if row.decision is None or row.decided_on is None:
        return None
    return BoardDecision(
        row.decision,
        "" if private else row.decision_reason,
        "" if private else row.decision_change,
        row.decided_on,
    )


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
    decided: BoardDecision | None = None  # its adoption decision, once taken

    def overdue(self, today: date) -> bool:
        return self.status == CommitmentStatus.OPEN and self.due_on < today

    @property
    def kept_on_time(self) -> bool:
        return (
            self.status == CommitmentStatus.FULFILLED
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
    decided: BoardDecision | None = None  # the decision on the proposal, once taken

    def state(self, today: date) -> str:
        """Waiting, answered, committed, overdue, fulfilled or reopened, as of `today`."""
        if self.status == QuestionStatus.REOPENED:
            return REOPENED
        if self.status == QuestionStatus.APPROVED:
            late = self.due_on is not None and self.due_on < today
            return OVERDUE if late else WAITING
        if any(c.overdue(today) for c in self.commitments):
            return OVERDUE
        if self.status == QuestionStatus.FULFILLED:
            return FULFILLED
        if self.status == QuestionStatus.COMMITTED:
            return COMMITTED
        return ANSWERED

    def overdue(self, today: date) -> bool:
        return self.state(today) == OVERDUE

    @property
    def answered(self) -> bool:
        return bool(self.answers) or self.answered_in_room or self.status in ANSWERED_STATUSES

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


@dataclass(frozen=True)
class Paging:
    page: int  # from 1
    size: int
    total: int | None  # None when not known without counting

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1

    def has_next(self, shown: int) -> bool:
        if self.total is not None:
            return self.page * self.size < self.total
        return shown > self.size


@dataclass
class DialogueBoard:
    dialogue: Dialogue
    questions: list[BoardQuestion]  # one page of the public ones that pass the filters
    general_commitments: list[BoardCommitment]  # made for the dialogue as a whole
    tally: Tally
    private_unanswered: int = 0  # sensitive questions kept off the page (no answer yet)
    shown_total: int = 0  # public questions, all states
    state_counts: dict[str, int] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    matching: int | None = None  # questions that pass the filters (None: not counted)
    paging: Paging = field(default_factory=lambda: Paging(1, PAGE_SIZE, 0))
    more: bool = False  # a next page exists


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


SECTIONS = (OVERDUE, "in_progress", FULFILLED)


@dataclass
class AgencyBoard:
    agency: Agency
    questions: int = 0  # published questions it has to answer or has answered
    answered: int = 0
    waiting: int = 0
    overdue_questions: int = 0
    commitment_count: int = 0
    section_counts: dict[str, int] = field(default_factory=dict)
    # A page of each section (deadline first): of the one asked for, or the first of each.
    by_state: dict[str, list[AgencyCommitment]] = field(default_factory=dict)
    section: str | None = None  # the one section asked for
    page: int = 1
    page_size: int = PAGE_SIZE


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


def question_anchor(ticket: str) -> str:
    return f"q-{ticket.lower()}"


# Kept counts


async def version(session: AsyncSession) -> int:
    """The board's data version: it grows with every change a page shows."""
    found = await session.scalar(
        select(BoardCount.n).where(
            BoardCount.dialogue_id == VERSION[0],
            BoardCount.agency == VERSION[1],
            BoardCount.name == VERSION[2],
            BoardCount.day == VERSION[3],
        )
    )
    return found or 0


class _Count(NamedTuple):
    dialogue_id: int
    agency: str
    name: str
    day: int
    n: int


async def _counts(
    session: AsyncSession, *, dialogue_ids: list[int] | None = None, agency: str | None = None
) -> list[Any]:
    """The kept counts of these dialogues (or of this agency across dialogues), added up by
    dialogue (0 for an agency's), name and day; by agency too for what the filters count
    (shown, state:…, topic:…)."""
    by_dialogue = BoardCount.dialogue_id if dialogue_ids is not None else literal(0)
    by_agency = case(
        (
            or_(
                BoardCount.name == "shown",
                BoardCount.name.startswith("state:"),
                BoardCount.name.startswith("topic:"),
            ),
            BoardCount.agency,
        ),
        else_=literal(""),
    )
    query = select(
        by_dialogue.label("dialogue_id"),
        by_agency.label("agency"),
        BoardCount.name,
        BoardCount.day,
        func.sum(BoardCount.n).label("n"),
    ).where(BoardCount.n != 0, BoardCount.name != VERSION[2])
    if dialogue_ids is not None:
        query = query.where(BoardCount.dialogue_id.in_(dialogue_ids))
    if agency is not None:
        query = query.where(BoardCount.agency == agency)
    query = query.group_by(by_dialogue, by_agency, BoardCount.name, BoardCount.day)
    return [
        _Count(d, a, name, dy, int(n)) for d, a, name, dy, n in await session.execute(query) if n
    ]


def _sum(rows: list[Any], name: str, *, before: int | None = None, since: int | None = None) -> int:
    return sum(
        r.n
        for r in rows
        if r.name == name
        and (before is None or 0 < r.day < before)
        and (since is None or r.day == 0 or r.day >= since)
    )


def _tally(rows: list[Any], today: date) -> Tally:
    now = day(today)
    asked, answered = _sum(rows, "asked"), _sum(rows, "answered")
    return Tally(
        asked=asked,
        answered=answered,
        waiting=asked - answered,
        overdue_questions=_sum(rows, "late_q", before=now),
        commitments=_sum(rows, "commitments"),
        kept_on_time=_sum(rows, "on_time"),
        fulfilled_late=_sum(rows, "late_done"),
        in_progress=_sum(rows, "open", since=now),
        overdue_commitments=_sum(rows, "open", before=now),
    )


def _state_counts(rows: list[Any], today: date) -> dict[str, int]:
    now = day(today)
    counts = dict.fromkeys(STATES, 0)
    for r in rows:
        if not r.name.startswith("state:"):
            continue
        status = r.name.removeprefix("state:")
        late = 0 < r.day < now
        if status == QuestionStatus.REOPENED:
            state = REOPENED
        elif status == QuestionStatus.APPROVED:
            state = OVERDUE if late else WAITING
        else:
            state = (
                OVERDUE
                if late
                else {QuestionStatus.FULFILLED: FULFILLED, QuestionStatus.COMMITTED: COMMITTED}.get(
                    status, ANSWERED
                )
            )
        counts[state] += r.n
    return counts


async def tallies(
    session: AsyncSession, *, dialogue_ids: list[int], today: date
) -> dict[int, Tally]:
    """The figures of these dialogues, from the kept counts."""
    rows = await _counts(session, dialogue_ids=dialogue_ids) if dialogue_ids else []
    by_dialogue: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_dialogue[r.dialogue_id].append(r)
    return {d: _tally(by_dialogue[d], today) for d in dialogue_ids}


# Rows


def _commitment(c: Any, *, private: bool) -> BoardCommitment:
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
        decided=_decision(c, private=private),
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
    Question.decision,
    Question.decision_reason,
    Question.decision_change,
    Question.decided_on,
)
_COMMITMENT_COLUMNS = (
    Commitment.id,
    Commitment.dialogue_id,
    Commitment.question_id,
    Commitment.agency,
    Commitment.content,
    Commitment.due_on,
    Commitment.responsible,
    Commitment.status,
    Commitment.progress,
    Commitment.version,
    Commitment.made_at,
    Commitment.updated_at,
    Commitment.fulfilled_on,
    Commitment.decision,
    Commitment.decision_reason,
    Commitment.decision_change,
    Commitment.decided_on,
)

_published = and_(Question.status.in_(PUBLISHED), Question.merged_into.is_(None))
_has_answer = exists().where(Answer.question_id == Question.id)
_public = or_(Question.sensitive.is_(False), _has_answer)


def _late_commitment(today: date) -> Any:
    return exists().where(
        Commitment.question_id == Question.id,
        Commitment.status == CommitmentStatus.OPEN,
        Commitment.due_on < today,
    )


def _in_state(state: str, today: date) -> Any:
    """Where a question stands as of `today` (BoardQuestion.state), in SQL."""
    late = _late_commitment(today)
    if state == REOPENED:
        return Question.status == QuestionStatus.REOPENED
    if state == WAITING:
        return and_(
            Question.status == QuestionStatus.APPROVED,
            or_(Question.due_on.is_(None), Question.due_on >= today),
        )
    if state == OVERDUE:
        return or_(
            and_(Question.status == QuestionStatus.APPROVED, Question.due_on < today),
            and_(Question.status.in_(ANSWERED_STATUSES), late),
        )
    status = {
        FULFILLED: QuestionStatus.FULFILLED,
        COMMITTED: QuestionStatus.COMMITTED,
        ANSWERED: QuestionStatus.ANSWERED,
    }[state]
    return and_(Question.status == status, ~late)


async def _first_answers(session: AsyncSession, question_ids: list[str]) -> dict[str, int]:
    """The first answer of each of these questions (a sensitive one is found by it)."""
    if not question_ids:
        return {}
    rows = await session.execute(
        select(Answer.question_id, func.min(Answer.id))
        .where(Answer.question_id.in_(question_ids))
        .group_by(Answer.question_id)
    )
    return dict(rows.all())


async def _questions(session: AsyncSession, rows: list[Any]) -> list[BoardQuestion]:
    """These question rows (a page's: a few dozen) with their answers and commitments."""
    ids = [row.id for row in rows]
    answers: dict[str, list[BoardAnswer]] = defaultdict(list)
    commitments: dict[str, list[BoardCommitment]] = defaultdict(list)
    if ids:
        for a in await session.execute(
            select(
                Answer.id,
                Answer.question_id,
                Answer.agency,
                Answer.text,
                Answer.in_room,
                Answer.published_at,
            )
            .where(Answer.question_id.in_(ids))
            .order_by(Answer.published_at, Answer.id)
        ):
            answers[a.question_id].append(
                BoardAnswer(a.id, a.agency, a.text, a.in_room, a.published_at)
            )
        sensitive = {row.id for row in rows if row.sensitive}
        for c in await session.execute(
            select(*_COMMITMENT_COLUMNS)
            .where(Commitment.question_id.in_(ids))
            .order_by(Commitment.due_on, Commitment.id)
        ):
            commitments[c.question_id].append(_commitment(c, private=c.question_id in sensitive))
    return [
        BoardQuestion(
            anchor=(
                f"p-{answers[row.id][0].id}"
                if row.sensitive and answers[row.id]
                else question_anchor(row.ticket)
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
            decided=_decision(row, private=False),
        )
        for row in rows
    ]


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
            Dialogue.status != DialogueStatus.CANCELLED,
            Dialogue.starts_at.is_not(None),
            Dialogue.starts_at <= now,
        )
        .order_by(Dialogue.starts_at.desc(), Dialogue.id.desc())
    )
    ended = [d for d in rows if (end := ends_at(d)) is not None and end <= now][:limit]
    figures = await tallies(session, dialogue_ids=[d.id for d in ended], today=today)
    return [DialogueResult(d, figures[d.id]) for d in ended]


async def dialogue_board(
    session: AsyncSession,
    *,
    dialogue_id: int,
    today: date,
    topic: str | None = None,
    agency: str | None = None,
    state: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> DialogueBoard | None:
    """A dialogue's figures and one page of its public questions, the most supported first,
    among those that pass the filters (a filter naming nothing the dialogue has is no
    filter); None if there is no such dialogue."""
    dialogue = await session.get(Dialogue, dialogue_id)
    if dialogue is None:
        return None
    rows = await _counts(session, dialogue_ids=[dialogue_id])
    shown = defaultdict(int)
    topics = set()
    for r in rows:
        if r.name == "shown":
            shown[r.agency] += r.n
        elif r.name.startswith("topic:"):
            topics.add(r.name.removeprefix("topic:"))
    state_counts = _state_counts(rows, today)
    board = DialogueBoard(
        dialogue=dialogue,
        questions=[],
        general_commitments=[],
        tally=_tally(rows, today),
        private_unanswered=_sum(rows, "private"),
        shown_total=sum(shown.values()),
        state_counts=state_counts,
        topics=sorted(topics),
        agencies=sorted(a for a, n in shown.items() if n),
    )
    topic = topic if topic in board.topics else None
    agency = agency if agency in board.agencies else None
    state = state if state in STATES else None
    page = min(max(page, 1), MAX_PAGE)
    # How many pass the filters: kept, but for a topic and a state together (then counted).
    mine = [r for r in rows if agency is None or r.agency == agency]
    matching: int | None
    if topic and state:
        matching = None
    elif topic:
        matching = _sum(mine, f"topic:{topic}")
    elif state:
        matching = _state_counts(mine, today)[state]
    else:
        matching = shown[agency] if agency else board.shown_total
    where = [Question.dialogue_id == dialogue_id, _published, _public]
    if topic:
        where += [Question.topic == topic, Question.sensitive.is_(False)]
    if agency:
        where.append(Question.agency == agency)
    if state:
        where.append(_in_state(state, today))
    if matching is None:
        matching = await session.scalar(select(func.count()).select_from(Question).where(*where))
    board.matching = matching
    board.paging = Paging(page, size, matching)
    found = (
        await session.execute(
            select(*_QUESTION_COLUMNS)
            .where(*where)
            .order_by(Question.supporters.desc(), Question.ticket.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    board.questions = await _questions(session, list(found))
    board.more = board.paging.has_next(len(found))
    general = await session.execute(
        select(*_COMMITMENT_COLUMNS)
        .where(Commitment.dialogue_id == dialogue_id, Commitment.question_id.is_(None))
        .order_by(Commitment.due_on, Commitment.id)
        .limit(GENERAL_COMMITMENTS)
    )
    board.general_commitments = [_commitment(c, private=False) for c in general]
    return board


async def agency_names(session: AsyncSession) -> dict[str, str]:
    """Every agency's name as stored, by code (seeded ones are catalog message ids)."""
    return dict((await session.execute(select(Agency.code, Agency.name))).all())


async def agencies(session: AsyncSession) -> list[Agency]:
    """Every agency that is active or has a record on the board, by code."""
    recorded = (
        select(BoardCount.agency)
        .where(BoardCount.name.in_(("asked", "commitments")), BoardCount.n != 0)
        .distinct()
    )
    rows = await session.scalars(
        select(Agency)
        .where(or_(Agency.active.is_(True), Agency.code.in_(recorded)))
        .order_by(Agency.code)
    )
    return list(rows)


def _in_section(section: str, today: date) -> Any:
    if section == OVERDUE:
        return and_(Commitment.status == CommitmentStatus.OPEN, Commitment.due_on < today)
    if section == FULFILLED:
        return Commitment.status == CommitmentStatus.FULFILLED
    return and_(Commitment.status == CommitmentStatus.OPEN, Commitment.due_on >= today)


async def _agency_commitments(
    session: AsyncSession, *, code: str, section: str, today: date, page: int, size: int
) -> list[AgencyCommitment]:
    rows = (
        await session.execute(
            select(
                *_COMMITMENT_COLUMNS,
                Question.ticket,
                Question.text.label("question_text"),
                Question.sensitive,
                Dialogue.title,
                Dialogue.kind,
            )
            .select_from(Commitment)
            .outerjoin(Question, Question.id == Commitment.question_id)
            .join(Dialogue, Dialogue.id == Commitment.dialogue_id)
            .where(
                Commitment.agency == code,
                or_(Commitment.question_id.is_(None), _published),
                _in_section(section, today),
            )
            .order_by(Commitment.due_on, Commitment.id)
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    first = await _first_answers(
        session, sorted({r.question_id for r in rows if r.question_id and r.sensitive})
    )
    found = []
    for r in rows:
        anchor: str | None
        if r.question_id is None:
            anchor = None
        elif r.sensitive:
            anchor = f"p-{first[r.question_id]}" if r.question_id in first else None
        else:
            anchor = question_anchor(r.ticket)
        private = bool(r.question_id is not None and r.sensitive)
        found.append(
            AgencyCommitment(
                _commitment(r, private=private),
                r.dialogue_id,
                r.title,
                r.kind,
                anchor,
                None if private or r.question_id is None else r.question_text,
            )
        )
    return found


async def agency_board(
    session: AsyncSession,
    *,
    code: str,
    today: date,
    section: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> AgencyBoard | None:
    """An agency's figures and its commitments across dialogues by section (overdue, in
    progress, fulfilled; deadline first), a page at a time; None if there is no such agency."""
    agency = await find_agency(session, code=code)
    if agency is None:
        return None
    rows = await _counts(session, agency=code)
    figures = _tally(rows, today)
    section = section if section in SECTIONS else None
    board = AgencyBoard(
        agency=agency,
        questions=figures.asked,
        answered=figures.answered,
        waiting=figures.waiting,
        overdue_questions=figures.overdue_questions,
        commitment_count=figures.commitments,
        section_counts={
            OVERDUE: figures.overdue_commitments,
            "in_progress": figures.in_progress,
            FULFILLED: figures.fulfilled,
        },
        section=section,
        page=min(max(page, 1), MAX_PAGE) if section else 1,
        page_size=size,
    )
    for key in SECTIONS:
        if section is not None and key != section:
            board.by_state[key] = []
            continue
        board.by_state[key] = (
            await _agency_commitments(
                session, code=code, section=key, today=today, page=board.page, size=size
            )
            if board.section_counts[key]
            else []
        )
    return board


# Feeds and sitemap


async def feed_entries(
    session: AsyncSession, *, limit: int = FEED_SIZE, page: int = 1
) -> tuple[list[FeedEntry], bool]:
    """A page of the published answers and commitment updates (made, updated, fulfilled), the
    newest first, and whether an older page exists (at most FEED_PAGES pages back).

    A commitment's update replaces its previous update in the feed (the database keeps the
    latest progress only); the entry of its making stays.
    """
    page = min(max(page, 1), FEED_PAGES)
    depth = page * limit + 1
    dialogues: dict[int, Dialogue] = {}
    entries: list[FeedEntry] = []

    answer_rows = (
        await session.execute(
            select(
                Answer.id,
                Answer.question_id,
                Answer.agency,
                Answer.text,
                Answer.in_room,
                Answer.published_at,
                Question.dialogue_id,
                Question.ticket,
                Question.text.label("question_text"),
                Question.sensitive,
            )
            .join(Question, Question.id == Answer.question_id)
            .where(_published)
            .order_by(Answer.published_at.desc(), Answer.id.desc())
            .limit(depth)
        )
    ).all()
    commitment_columns = (
        *_COMMITMENT_COLUMNS,
        Question.ticket,
        Question.text.label("question_text"),
        Question.sensitive,
    )
    counted = or_(Commitment.question_id.is_(None), _published)
    made_rows = (
        await session.execute(
            select(*commitment_columns)
            .select_from(Commitment)
            .outerjoin(Question, Question.id == Commitment.question_id)
            .where(counted)
            .order_by(Commitment.made_at.desc(), Commitment.id.desc())
            .limit(depth)
        )
    ).all()
    updated_rows = (
        await session.execute(
            select(*commitment_columns)
            .select_from(Commitment)
            .outerjoin(Question, Question.id == Commitment.question_id)
            .where(counted, Commitment.version > 1)
            .order_by(Commitment.updated_at.desc(), Commitment.id.desc())
            .limit(depth)
        )
    ).all()
    ids = {r.dialogue_id for r in answer_rows + made_rows + updated_rows}
    if ids:
        dialogues = {
            d.id: d for d in await session.scalars(select(Dialogue).where(Dialogue.id.in_(ids)))
        }
    sensitive = {
        r.question_id
        for r in answer_rows + made_rows + updated_rows
        if r.question_id and r.sensitive
    }
    first = await _first_answers(session, sorted(sensitive))

    def anchor(r: Any) -> str:
        if r.question_id is None or (r.sensitive and r.question_id not in first):
            return f"c-{r.id}"
        if r.sensitive:
            return f"p-{first[r.question_id]}"
        return question_anchor(r.ticket)

    for r in answer_rows:
        d = dialogues[r.dialogue_id]
        entries.append(
            FeedEntry(
                key=f"answer-{r.id}",
                kind="answer",
                at=r.published_at,
                dialogue_id=d.id,
                dialogue_title=d.title,
                dialogue_kind=d.kind,
                agency=r.agency,
                anchor=(f"p-{first[r.question_id]}" if r.sensitive else question_anchor(r.ticket)),
                question_text=None if r.sensitive else r.question_text,
                text=r.text,
                in_room=r.in_room,
                private=r.sensitive,
            )
        )

    def made(r: Any) -> FeedEntry:
        d = dialogues[r.dialogue_id]
        private = bool(r.question_id is not None and r.sensitive)
        c = _commitment(r, private=private)
        return FeedEntry(
            key=f"commitment-{c.id}",
            kind="commitment_made",
            at=c.made_at,
            dialogue_id=d.id,
            dialogue_title=d.title,
            dialogue_kind=d.kind,
            agency=c.agency,
            anchor=anchor(r),
            question_text=None if private or r.question_id is None else r.question_text,
            text=c.content,
            due_on=c.due_on,
            private=private,
        )

    entries += [made(r) for r in made_rows]
    for r in updated_rows:
        entry = made(r)
        entries.append(
            replace(
                entry,
                key=f"commitment-{r.id}-v{r.version}",
                kind="commitment_fulfilled"
                if r.status == CommitmentStatus.FULFILLED
                else "commitment_updated",
                at=r.updated_at,
                progress="" if entry.private else r.progress,
                fulfilled_on=r.fulfilled_on,
            )
        )
    entries.sort(key=lambda e: (e.at, e.key), reverse=True)
    start = (page - 1) * limit
    older = len(entries) > page * limit and page < FEED_PAGES
    return entries[start : start + limit], older


async def public_dialogues(session: AsyncSession) -> list[Dialogue]:
    """Every dialogue with a page: the general intake, then the sessions, latest first."""
    rows = await session.scalars(
        select(Dialogue).order_by(
            (Dialogue.kind != "general"), Dialogue.starts_at.desc(), Dialogue.id
        )
    )
    return list(rows)
