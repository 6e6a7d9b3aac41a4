"""The public board's counts, kept rather than recomputed.

Each question (with its answers and commitments) and each commitment made for a dialogue as a
whole adds a few counts to `board_counts`, by dialogue, agency, name and deadline day; what it
added last time is kept in `board_contributions`. When a transaction that touched a question,
an answer or a commitment commits, the touched subjects are measured again and only the
difference is written, in that same transaction: a page reads a handful of rows, whatever the
number of questions. Nothing has to call this: the sessions of `storage.db.session_factory`
note what each flush touched and settle it before the commit (`BoardSession`), so a storage
function that changes a question cannot forget it. Being a difference against the last
measure, it is also self-correcting: measuring a subject twice changes nothing.

Overdue is a function of time, so counts that can become overdue keep their deadline's day:
"overdue today" is the sum of the rows whose day is before today (a handful of rows: a dialogue's
deadlines fall on few days).

The row (-1, "", "version", 0) grows with every committed change that the board shows (questions,
answers, commitments, dialogues, agencies): the rendered pages are cached under it.

The code is synchronous on a Connection: it runs inside the Session's commit (SQLAlchemy's
asyncio layer runs those hooks in its greenlet), in the migration that fills the tables, and in
tests through `run_sync`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.core.lifecycles import CommitmentStatus, QuestionStatus
from storage.models import (
    Agency,
    Answer,
    BoardContribution,
    BoardCount,
    Commitment,
    Dialogue,
    Question,
)
from storage.upsert import upsert

# Questions the facilitator approved for publication, and what came of them.
PUBLISHED = (
    QuestionStatus.APPROVED,
    QuestionStatus.ANSWERED,
    QuestionStatus.COMMITTED,
    QuestionStatus.FULFILLED,
    QuestionStatus.REOPENED,
)
ANSWERED_STATUSES = (QuestionStatus.ANSWERED, QuestionStatus.COMMITTED, QuestionStatus.FULFILLED)

Key = tuple[int, str, str, int]  # dialogue, agency, name, day
VERSION: Key = (-1, "", "version", 0)  # no dialogue has id -1 (the general intake may be 0)
CHUNK = 500  # ids in one IN (...): far below every driver's limit on parameters

_TOUCHED = "board_touched"
_CHANGED = "board_changed"
_SETTLED = "board_settled"
_committed = [0]  # board changes committed by this process's sessions


def changes_committed() -> int:
    """How many transactions of this process have changed what the board shows: a page cache
    in this process sees its own process's changes at once, without asking the database."""
    return _committed[0]


def day(value: date | None) -> int:
    return value.toordinal() if value is not None else 0


def question_subject(question_id: str) -> str:
    return f"q:{question_id}"


def commitment_subject(commitment_id: int) -> str:
    return f"c:{commitment_id}"


# What a subject adds


def commitment_counts(c: Any) -> Counter[Key]:
    """A commitment's counts (its own agency's): made, and on time, late or open by deadline."""
    counts: Counter[Key] = Counter()
    counts[(c.dialogue_id, c.agency, "commitments", 0)] += 1
    if c.status == CommitmentStatus.FULFILLED:
        on_time = c.fulfilled_on is not None and c.fulfilled_on <= c.due_on
        counts[(c.dialogue_id, c.agency, "on_time" if on_time else "late_done", 0)] += 1
    else:
        counts[(c.dialogue_id, c.agency, "open", day(c.due_on))] += 1
    return counts


def question_counts(q: Any, *, has_answers: bool, commitments: list[Any]) -> Counter[Key]:
    """A question's counts, with its commitments': nothing unless it is published. A sensitive
    question without an answer is only counted (asked, private), never described."""
    counts: Counter[Key] = Counter()
    if q.status not in PUBLISHED or q.merged_into is not None:
        return counts
    d, a = q.dialogue_id, q.agency
    counts[(d, a, "asked", 0)] += 1
    if q.sensitive and not has_answers:
        counts[(d, a, "private", 0)] += 1
    else:
        counts[(d, a, "shown", 0)] += 1
        if not q.sensitive:
            counts[(d, a, f"topic:{q.topic}", 0)] += 1
        answered = has_answers or q.answered_in_room or q.status in ANSWERED_STATUSES
        if answered:
            counts[(d, a, "answered", 0)] += 1
        elif q.status == QuestionStatus.APPROVED and q.due_on is not None:
            counts[(d, a, "late_q", day(q.due_on))] += 1
        # Its state on the board, as of any day: an approved question by its deadline, an
        # answered one by its earliest open commitment (overdue once that is past).
        if q.status in (QuestionStatus.APPROVED, QuestionStatus.REOPENED):
            counts[(d, a, f"state:{q.status}", day(q.due_on))] += 1
        else:
            due = [c.due_on for c in commitments if c.status == CommitmentStatus.OPEN]
            counts[(d, a, f"state:{q.status}", day(min(due)) if due else 0)] += 1
    for c in commitments:
        counts += commitment_counts(c)
    return counts


# Measuring


_Q_COLUMNS = (
    Question.id,
    Question.dialogue_id,
    Question.agency,
    Question.topic,
    Question.status,
    Question.merged_into,
    Question.sensitive,
    Question.answered_in_room,
    Question.due_on,
)
_C_COLUMNS = (
    Commitment.id,
    Commitment.question_id,
    Commitment.dialogue_id,
    Commitment.agency,
    Commitment.status,
    Commitment.due_on,
    Commitment.fulfilled_on,
)


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def measure(connection: Connection, subjects: Iterable[str]) -> dict[str, Counter[Key]]:
    """What these subjects add now (an empty Counter for one that adds nothing)."""
    subjects = set(subjects)
    found: dict[str, Counter[Key]] = {s: Counter() for s in subjects}
    question_ids = sorted(s[2:] for s in subjects if s.startswith("q:"))
    general_ids = sorted(int(s[2:]) for s in subjects if s.startswith("c:"))
    for ids in _chunks(question_ids):
        rows = connection.execute(select(*_Q_COLUMNS).where(Question.id.in_(ids))).all()
        answered = set(
            connection.execute(
                select(Answer.question_id).where(Answer.question_id.in_(ids)).distinct()
            ).scalars()
        )
        commitments: dict[str, list[Any]] = {}
        for c in connection.execute(select(*_C_COLUMNS).where(Commitment.question_id.in_(ids))):
            commitments.setdefault(c.question_id, []).append(c)
        for q in rows:
            found[question_subject(q.id)] = question_counts(
                q, has_answers=q.id in answered, commitments=commitments.get(q.id, [])
            )
    for ids in _chunks(general_ids):
        for c in connection.execute(
            select(*_C_COLUMNS).where(Commitment.id.in_(ids), Commitment.question_id.is_(None))
        ):
            found[commitment_subject(c.id)] = commitment_counts(c)
    return found


def _add(connection: Connection, delta: Counter[Key]) -> None:
    """Add the non-zero differences to the kept counts, in key order (so that two writers on
    PostgreSQL take the rows' locks in the same order)."""
    rows = [
        {"dialogue_id": k[0], "agency": k[1], "name": k[2], "day": k[3], "n": n}
        for k, n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    table = BoardCount.__table__
    statement = upsert(
        connection,
        table,
        keys=["dialogue_id", "agency", "name", "day"],
        set_=lambda excluded: {"n": table.c.n + excluded.n},
    )
    connection.execute(statement, rows)


def _encode(counts: Counter[Key]) -> list[list[Any]]:
    return [[*k, n] for k, n in sorted(counts.items()) if n]


def _decode(value: list[list[Any]]) -> Counter[Key]:
    return Counter({(d, a, name, dy): n for d, a, name, dy, n in value})


def refresh(connection: Connection, subjects: Iterable[str], *, changed: bool = True) -> None:
    """Measure these subjects again and write the difference; bump the version if `changed`."""
    subjects = sorted(set(subjects))
    table = BoardContribution.__table__
    before: dict[str, Counter[Key]] = {}
    for chunk in _chunks(subjects):
        for subject, counts in connection.execute(
            select(table.c.subject, table.c.counts).where(table.c.subject.in_(chunk))
        ):
            before[subject] = _decode(counts)
    after = measure(connection, subjects)
    delta: Counter[Key] = Counter()
    gone, kept = [], []
    for subject in subjects:
        old, new = before.get(subject, Counter()), after[subject]
        if old == new:
            continue
        delta.update(new)
        delta.subtract(old)
        if new:
            kept.append({"subject": subject, "counts": _encode(new)})
        else:
            gone.append(subject)
    if changed:
        delta[VERSION] += 1
    _add(connection, delta)
    if kept:
        connection.execute(upsert(connection, table, keys=["subject"], update=["counts"]), kept)
    for chunk in _chunks(gone):
        connection.execute(delete(table).where(table.c.subject.in_(chunk)))


def recount_all(connection: Connection) -> None:
    """Forget the kept counts and count every question and general commitment from scratch
    (the migration that creates the tables; a repair)."""
    connection.execute(delete(BoardCount.__table__))
    connection.execute(delete(BoardContribution.__table__))
    subjects = [
        question_subject(i)
        for i in connection.execute(
            select(Question.id).where(
                Question.status.in_(PUBLISHED), Question.merged_into.is_(None)
            )
        ).scalars()
    ]
    subjects += [
        commitment_subject(i)
        for i in connection.execute(
            select(Commitment.id).where(Commitment.question_id.is_(None))
        ).scalars()
    ]
    for chunk in _chunks(subjects):
        refresh(connection, chunk, changed=False)
    _add(connection, Counter({VERSION: 1}))


def kept(connection: Connection) -> Counter[Key]:
    """Every non-zero kept count but the version (to compare with a recount)."""
    rows = connection.execute(
        select(BoardCount.__table__).where(BoardCount.n != 0, BoardCount.name != VERSION[2])
    )
    return Counter({(r.dialogue_id, r.agency, r.name, r.day): r.n for r in rows})


def touch(session: Any, question_id: str) -> None:
    """Note a question changed by a bulk UPDATE (which no flush sees), so that the board
    counts it again and its cached pages are rendered again at the commit."""
    session.info.setdefault(_TOUCHED, set()).add(question_subject(question_id))


# The session that keeps them


class BoardSession(Session):
    """A Session that keeps the board's counts: what a flush touched is measured again just
    before the transaction commits, in it."""


@event.listens_for(BoardSession, "after_flush")
def _note(session: Session, _context: Any) -> None:
    touched: set[str] = session.info.setdefault(_TOUCHED, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Question):
            if obj in session.new and obj.status not in PUBLISHED:
                continue  # a new question is not on the board: intake pays nothing
            touched.add(question_subject(obj.id))
        elif isinstance(obj, Answer):
            touched.add(question_subject(obj.question_id))
        elif isinstance(obj, Commitment):
            if obj.question_id is not None:
                touched.add(question_subject(obj.question_id))
            else:
                touched.add(commitment_subject(obj.id))
        elif isinstance(obj, (Dialogue, Agency)):
            session.info[_CHANGED] = True


@event.listens_for(BoardSession, "before_commit")
def _settle(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # what is still pending is flushed now, and noted (_note)
    if not session.info.get(_TOUCHED) and not session.info.get(_CHANGED):
        return
    touched = session.info.pop(_TOUCHED, set())
    changed = session.info.pop(_CHANGED, False)
    refresh(session.connection(), touched, changed=bool(touched) or changed)
    session.info[_SETTLED] = True


@event.listens_for(BoardSession, "after_commit")
def _count(session: Session) -> None:
    if session.info.pop(_SETTLED, False):
        _committed[0] += 1


@event.listens_for(BoardSession, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(_CHANGED, None)
    session.info.pop(_SETTLED, None)
