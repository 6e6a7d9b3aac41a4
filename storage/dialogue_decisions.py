"""Adoption decisions (tiếp thu) in a dialogue: on a citizen's proposal (a question, kiến nghị)
and on a commitment, with the vocabulary and rules a consultation's themes use
(storage/decisions.py).

A decision changes a question or a commitment through the ORM, so the board counts it again
and its data version grows at the commit (storage/board_counts.py): the cached pages show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import decisions
from storage.board_counts import PUBLISHED
from storage.models import Commitment, Question, QuestionEvent

# A proposal gets a decision once the facilitator approved it: new ones are not read yet,
# rejected ones were refused, merged ones live on in the question they joined.
DECIDABLE = PUBLISHED


def decidable(question: Question) -> bool:
    return question.status in DECIDABLE and question.merged_into is None


def _apply(
    item: Question | Commitment, *, decision: str, reason: str, change: str, on: date
) -> bool:
    """Record a checked decision; whether anything changed."""
    decision, reason, change = decisions.checked(decision, reason=reason, change=change)
    before = (item.decision, item.decision_reason, item.decision_change)
    if before == (decision, reason, change):
        return False
    item.decision = decision
    item.decision_reason = reason
    item.decision_change = change
    item.decided_on = on
    return True


async def decide_question(
    session: AsyncSession,
    *,
    question: Question,
    decision: str,
    reason: str,
    change: str,
    on: date,
    staff_id: int | None = None,
) -> bool:
    """The decision on a proposal (DecisionError if it cannot be recorded: see
    storage.decisions.checked; ValueError if the question is not published). Returns whether
    it changed; the same decision again keeps its day."""
    if not decidable(question):
        raise ValueError(question.status)
    changed = _apply(question, decision=decision, reason=reason, change=change, on=on)
    if changed:
        session.add(
            QuestionEvent(
                question_id=question.id,
                kind="decided",
                staff_id=staff_id,
                note=question.decision or "",
                on=on,
            )
        )
    await session.flush()
    return changed


async def decide_commitment(
    session: AsyncSession,
    *,
    commitment: Commitment,
    decision: str,
    reason: str,
    change: str,
    on: date,
    staff_id: int | None = None,
) -> bool:
    """The decision on a commitment (DecisionError if it cannot be recorded). Returns whether
    it changed; the same decision again keeps its day."""
    changed = _apply(commitment, decision=decision, reason=reason, change=change, on=on)
    if changed and commitment.question_id is not None:
        session.add(
            QuestionEvent(
                question_id=commitment.question_id,
                kind="decided",
                staff_id=staff_id,
                note=f"c{commitment.id}:{commitment.decision}",
                on=on,
            )
        )
    await session.flush()
    return changed


async def commitment(session: AsyncSession, *, commitment_id: int) -> Commitment | None:
    return await session.get(Commitment, commitment_id)


@dataclass(frozen=True)
class DecidedItem:
    """One decision of a dialogue, as the organiser lists it: never who asked."""

    label: str  # "#TICKET" or "c<id>"
    text: str  # the proposal's text, or the commitment's content
    agency: str
    decision: str
    reason: str
    change: str
    decided_on: date


async def decided_in(session: AsyncSession, *, dialogue_id: int) -> list[DecidedItem]:
    """The decisions of a dialogue's proposals, then of its commitments, oldest first."""
    questions = await session.execute(
        select(
            Question.ticket,
            Question.text,
            Question.agency,
            Question.decision,
            Question.decision_reason,
            Question.decision_change,
            Question.decided_on,
        )
        .where(Question.dialogue_id == dialogue_id, Question.decision.is_not(None))
        .order_by(Question.decided_on, Question.ticket)
    )
    commitments = await session.execute(
        select(
            Commitment.id,
            Commitment.content,
            Commitment.agency,
            Commitment.decision,
            Commitment.decision_reason,
            Commitment.decision_change,
            Commitment.decided_on,
        )
        .where(Commitment.dialogue_id == dialogue_id, Commitment.decision.is_not(None))
        .order_by(Commitment.decided_on, Commitment.id)
    )
    return [DecidedItem(f"#{r[0]}", *r[1:]) for r in questions] + [
        DecidedItem(f"c{r[0]}", *r[1:]) for r in commitments
    ]
