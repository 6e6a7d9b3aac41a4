"""Support from other citizens ("Tôi cũng muốn hỏi"): which questions a person may browse, the
supports themselves, and letting go of them when the person deletes their data.

A support holds no account: the supporter's keyed hash (one support per person and question)
and a sealed handle to bring them the answer. `Question.supporters` counts the supports, kept
in step with the rows by SQL increments, so that two people pressing at once both count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.core.lifecycles import DialogueStatus, QuestionStatus
from storage import board_counts
from storage.models import Dialogue, Question, Support
from storage.questions import by_ticket as by_ticket
from storage.upsert import upsert

# What other citizens may see and support: approved and what came of it. Sensitive questions
# are never shown in public; merged ones live on in the question they were joined to.
BROWSABLE = (
    QuestionStatus.APPROVED,
    QuestionStatus.ANSWERED,
    QuestionStatus.COMMITTED,
    QuestionStatus.FULFILLED,
)


async def dialogues_for(session: AsyncSession, *, ward: str | None) -> list[int]:
    """The dialogues a person takes part in: the general intake, and with a household's ward,
    the sessions of that ward that have not been cancelled."""
    general = await session.scalars(select(Dialogue.id).where(Dialogue.kind == "general"))
    ids = list(general)
    if ward:
        sessions = await session.scalars(
            select(Dialogue).where(
                Dialogue.kind == "session", Dialogue.status != DialogueStatus.CANCELLED
            )
        )
        # `wards` is a JSON list: a handful of dialogues, filtered here rather than in
        # each database's own JSON dialect.
        ids += [d.id for d in sessions if ward in (d.wards or [])]
    return ids


def _browsable(dialogue_ids: list[int]) -> ColumnElement[bool]:
    return and_(
        Question.dialogue_id.in_(dialogue_ids),
        Question.status.in_(BROWSABLE),
        Question.sensitive.is_(False),
        Question.merged_into.is_(None),
    )


@dataclass(frozen=True)
class Page:
    questions: list[Question]
    total: int


async def browsable_page(
    session: AsyncSession, *, dialogue_ids: list[int], page: int, size: int
) -> Page:
    """One page of the questions people may support, the most supported first (ties: the
    oldest, then by ticket, so that pages do not shift)."""
    total = await session.scalar(
        select(func.count()).select_from(Question).where(_browsable(dialogue_ids))
    )
    rows = await session.scalars(
        select(Question)
        .where(_browsable(dialogue_ids))
        .order_by(Question.supporters.desc(), Question.submitted_on, Question.ticket)
        .offset(page * size)
        .limit(size)
    )
    return Page(list(rows), total or 0)


def may_browse(question: Question, *, dialogue_ids: list[int]) -> bool:
    return (
        question.dialogue_id in dialogue_ids
        and question.status in BROWSABLE
        and not question.sensitive
        and question.merged_into is None
    )


async def relation(
    session: AsyncSession, *, question: Question, account_id: int, person_hash: str
) -> str:
    """How a person stands to a question: "own" (they asked it), "follows" (they asked a
    question merged into it, or support it already), or "" (neither)."""
    if question.account_id == account_id or (
        question.asker_hash is not None and question.asker_hash == person_hash
    ):
        return "own"
    merged_in = await session.scalar(
        select(func.count())
        .select_from(Question)
        .where(
            Question.merged_into == question.id,
            or_(Question.account_id == account_id, Question.asker_hash == person_hash),
        )
    )
    if merged_in:
        return "follows"
    supported = await session.scalar(
        select(Support.question_id).where(
            Support.question_id == question.id, Support.supporter_hash == person_hash
        )
    )
    return "follows" if supported is not None else ""


async def supported_among(
    session: AsyncSession, *, supporter_hash: str, question_ids: list[str]
) -> set[str]:
    """Which of these questions the person supports."""
    if not question_ids:
        return set()
    rows = await session.scalars(
        select(Support.question_id).where(
            Support.supporter_hash == supporter_hash, Support.question_id.in_(question_ids)
        )
    )
    return set(rows)


async def add_support(
    session: AsyncSession,
    *,
    question: Question,
    supporter_hash: str,
    reply_handle: bytes,
    today: date,
) -> bool:
    """Count the person's support once and make them a follower; False if they already were.

    The insert skips a twin (a double tap in two processes) and the count is incremented in
    SQL, so that concurrent supports are never lost."""
    row = {
        "question_id": question.id,
        "supporter_hash": supporter_hash,
        "reply_handle": reply_handle,
        "supported_on": today,
    }
    result = await session.execute(
        upsert(session, Support, keys=["question_id", "supporter_hash"], values=row)
    )
    if not result.rowcount:
        return False
    await session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(supporters=Question.supporters + 1)
        .execution_options(synchronize_session=False)
    )
    board_counts.touch(session, question.id)  # its page shows the number
    await session.refresh(question, ["supporters"])
    return True


async def release_supports(session: AsyncSession, *, supporter_hash: str) -> int:
    """Delete a person's supports and take them off the counts: of the question supported, and
    of the question it was merged into, whose count includes the supports of those merged in.
    Returns how many supports there were."""
    rows = list(
        await session.execute(
            select(Question.id, Question.merged_into)
            .join(Support, Support.question_id == Question.id)
            .where(Support.supporter_hash == supporter_hash)
        )
    )
    if not rows:
        return 0
    less = Counter(question_id for question_id, _ in rows)
    less.update(target for _, target in rows if target is not None)
    for question_id, n in less.items():
        await session.execute(
            update(Question)
            .where(Question.id == question_id)
            .values(supporters=case((Question.supporters > n, Question.supporters - n), else_=0))
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        delete(Support)
        .where(Support.supporter_hash == supporter_hash)
        .execution_options(synchronize_session=False)
    )
    return len(rows)
