"""The public board's figures (asked, answered, waiting, overdue, commitments), read from the kept
counts of storage/board_counts.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board import ANSWERED, COMMITTED, FULFILLED, OVERDUE, REOPENED, STATES, WAITING, Tally
from storage.board_counts import VERSION, day
from storage.models import BoardCount


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
        if status == "reopened":
            state = REOPENED
        elif status == "approved":
            state = OVERDUE if late else WAITING
        else:
            state = (
                OVERDUE
                if late
                else {"fulfilled": FULFILLED, "committed": COMMITTED}.get(status, ANSWERED)
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
