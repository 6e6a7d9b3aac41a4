"""The board's agency pages: the agencies, and one agency's commitments across dialogues by section."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board import (
    _COMMITMENT_COLUMNS,
    FULFILLED,
    MAX_PAGE,
    OVERDUE,
    PAGE_SIZE,
    SECTIONS,
    AgencyBoard,
    AgencyCommitment,
    _commitment,
    _first_answers,
    _published,
    question_anchor,
)
from storage.board_tallies import _counts, _tally
from storage.models import Agency, BoardCount, Commitment, Dialogue, Question
from storage.staff import find_agency


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
        return and_(Commitment.status == "open", Commitment.due_on < today)
    if section == FULFILLED:
        return Commitment.status == "fulfilled"
    return and_(Commitment.status == "open", Commitment.due_on >= today)


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
