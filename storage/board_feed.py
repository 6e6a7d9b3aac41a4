"""The board's feeds: the published answers and commitment updates, the newest first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board import (
    _COMMITMENT_COLUMNS,
    FEED_PAGES,
    FEED_SIZE,
    FeedEntry,
    _commitment,
    _first_answers,
    _published,
    question_anchor,
)
from storage.models import Answer, Commitment, Dialogue, Question


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
    answer_rows, made_rows, updated_rows = await _feed_rows(session, depth=depth)
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
    entries = [_answer_entry(r, dialogues[r.dialogue_id], first) for r in answer_rows]
    entries += [_made_entry(r, dialogues[r.dialogue_id], first) for r in made_rows]
    entries += [_updated_entry(r, dialogues[r.dialogue_id], first) for r in updated_rows]
    entries.sort(key=lambda e: (e.at, e.key), reverse=True)
    start = (page - 1) * limit
    older = len(entries) > page * limit and page < FEED_PAGES
    return entries[start : start + limit], older


async def _feed_rows(
    session: AsyncSession, *, depth: int
) -> tuple[list[Any], list[Any], list[Any]]:
    """The newest `depth` published answers, commitments made and commitments updated."""
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
    return answer_rows, made_rows, updated_rows


def _anchor(r: Any, first: dict[str, int]) -> str:
    """Where a commitment is on its dialogue's page."""
    if r.question_id is None or (r.sensitive and r.question_id not in first):
        return f"c-{r.id}"
    if r.sensitive:
        return f"p-{first[r.question_id]}"
    return question_anchor(r.ticket)


def _answer_entry(r: Any, d: Dialogue, first: dict[str, int]) -> FeedEntry:
    return FeedEntry(
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


def _made_entry(r: Any, d: Dialogue, first: dict[str, int]) -> FeedEntry:
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
        anchor=_anchor(r, first),
        question_text=None if private or r.question_id is None else r.question_text,
        text=c.content,
        due_on=c.due_on,
        private=private,
    )


def _updated_entry(r: Any, d: Dialogue, first: dict[str, int]) -> FeedEntry:
    entry = _made_entry(r, d, first)
    return replace(
        entry,
        key=f"commitment-{r.id}-v{r.version}",
        kind="commitment_fulfilled" if r.status == "fulfilled" else "commitment_updated",
        at=r.updated_at,
        progress="" if entry.private else r.progress,
        fulfilled_on=r.fulfilled_on,
    )
