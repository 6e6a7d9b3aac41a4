"""What the public board shows: dialogues, the questions published from them, answers,
commitments and how they stand, each agency's record, and the entries of the feeds.

Everything here is public, so nothing here reads an asker: no account, no hash, no handle,
no day a question came. The queries name the columns they take from `questions`, and the
types they return have no field that could hold an asker. A question the facilitator marked
sensitive is published only through its answers: no text, no ticket, no topic, no supporters;
its commitments show their agency, deadline and status, never their content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import CommitmentStatus, QuestionStatus
from storage.board_counts import ANSWERED_STATUSES, PUBLISHED, VERSION
from storage.models import Agency, Answer, BoardCount, Commitment, Dialogue, Question

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


# Kept counts (the figures are read in storage/board_tallies.py)


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


# Rows (the pages are read in storage/board_dialogues.py, board_agencies.py, board_feed.py)


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
