"""The board's dialogue pages: the list of dialogues, upcoming and recent sessions, and one
dialogue's figures with a page of its public questions."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board import (
    _COMMITMENT_COLUMNS,
    _QUESTION_COLUMNS,
    ANSWERED,
    COMMITTED,
    FULFILLED,
    GENERAL_COMMITMENTS,
    MAX_PAGE,
    OVERDUE,
    PAGE_SIZE,
    RECENT_RESULTS,
    REOPENED,
    STATES,
    WAITING,
    BoardAnswer,
    BoardCommitment,
    BoardQuestion,
    DialogueBoard,
    DialogueResult,
    Paging,
    _commitment,
    _decision,
    _public,
    _published,
    question_anchor,
)
from storage.board_counts import ANSWERED_STATUSES
from storage.board_tallies import _counts, _state_counts, _sum, _tally, tallies
from storage.dialogues import ends_at
from storage.models import Answer, Commitment, Dialogue, Question


def _late_commitment(today: date) -> Any:
    return exists().where(
        Commitment.question_id == Question.id,
        Commitment.status == "open",
        Commitment.due_on < today,
    )


def _in_state(state: str, today: date) -> Any:
    """Where a question stands as of `today` (BoardQuestion.state), in SQL."""
    late = _late_commitment(today)
    if state == REOPENED:
        return Question.status == "reopened"
    if state == WAITING:
        return and_(
            Question.status == "approved",
            or_(Question.due_on.is_(None), Question.due_on >= today),
        )
    if state == OVERDUE:
        return or_(
            and_(Question.status == "approved", Question.due_on < today),
            and_(Question.status.in_(ANSWERED_STATUSES), late),
        )
    status = {FULFILLED: "fulfilled", COMMITTED: "committed", ANSWERED: "answered"}[state]
    return and_(Question.status == status, ~late)


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
    figures = await tallies(session, dialogue_ids=[d.id for d in ended], today=today)
    return [DialogueResult(d, figures[d.id]) for d in ended]


def _figures(
    dialogue: Dialogue, rows: list[Any], today: date
) -> tuple[DialogueBoard, dict[str, int]]:
    """The dialogue's board without its questions, from its kept counts; and how many
    questions each agency has shown."""
    shown: dict[str, int] = defaultdict(int)
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
    return board, shown


def _matching(
    rows: list[Any],
    board: DialogueBoard,
    shown: dict[str, int],
    *,
    topic: str | None,
    agency: str | None,
    state: str | None,
    today: date,
) -> int | None:
    """How many pass the filters: kept, but for a topic and a state together (then None: to
    be counted)."""
    mine = [r for r in rows if agency is None or r.agency == agency]
    if topic and state:
        return None
    if topic:
        return _sum(mine, f"topic:{topic}")
    if state:
        return _state_counts(mine, today)[state]
    return shown[agency] if agency else board.shown_total


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
    board, shown = _figures(dialogue, rows, today)
    topic = topic if topic in board.topics else None
    agency = agency if agency in board.agencies else None
    state = state if state in STATES else None
    page = min(max(page, 1), MAX_PAGE)
    matching = _matching(rows, board, shown, topic=topic, agency=agency, state=state, today=today)
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


async def public_dialogues(session: AsyncSession) -> list[Dialogue]:
    """Every dialogue with a page: the general intake, then the sessions, latest first."""
    rows = await session.scalars(
        select(Dialogue).order_by(
            (Dialogue.kind != "general"), Dialogue.starts_at.desc(), Dialogue.id
        )
    )
    return list(rows)
