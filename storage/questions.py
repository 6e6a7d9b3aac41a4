"""Questions: submitting one, listing an asker's, and letting go of them when an asker leaves."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import QuestionStatus
from storage.models import Dialogue, Question, Support

# No 0/O, 1/I, 2/Z, 5/S, 8/B: a ticket is read aloud and copied by hand.
TICKET_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
TICKET_LENGTH = 6


def new_ticket() -> str:
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


async def add_question(
    session: AsyncSession,
    *,
    dialogue_id: int,
    topic: str,
    agency: str,
    text: str,
    submitted_on: date,
    account_id: int | None = None,
    asker_hash: str | None = None,
    reply_handle: bytes | None = None,
) -> Question:
    """Store a question under a fresh random ticket.

    Named questions carry the account; anonymous ones only the keyed hash and the sealed handle.
    The id and the ticket are random, so neither their order nor their value says when it came.
    """
    anonymous = account_id is None
    if anonymous and (asker_hash is None or reply_handle is None):
        raise ValueError("an anonymous question needs its asker hash and reply handle")
    if not anonymous and (asker_hash is not None or reply_handle is not None):
        raise ValueError("a named question is found by its account, not by a hash")
    for _ in range(10):
        ticket = new_ticket()
        taken = await session.scalar(select(Question.id).where(Question.ticket == ticket))
        if taken is None:
            break
    else:  # pragma: no cover - 26**6 tickets
        raise RuntimeError("no free ticket found")
    question = Question(
        id=secrets.token_hex(16),
        ticket=ticket,
        dialogue_id=dialogue_id,
        topic=topic,
        agency=agency,
        text=text,
        anonymous=anonymous,
        account_id=account_id,
        asker_hash=asker_hash,
        reply_handle=reply_handle,
        status=QuestionStatus.NEW,
        submitted_on=submitted_on,
    )
    session.add(question)
    await session.flush()
    return question


@dataclass(frozen=True)
class AskedQuestion:
    question: Question
    dialogue: Dialogue


async def questions_of(
    session: AsyncSession, *, account_id: int, asker_hash: str
) -> list[AskedQuestion]:
    """An asker's questions: the named ones by account, the anonymous ones by their keyed hash."""
    rows = await session.execute(
        select(Question, Dialogue)
        .join(Dialogue, Dialogue.id == Question.dialogue_id)
        .where(or_(Question.account_id == account_id, Question.asker_hash == asker_hash))
        .order_by(Question.submitted_on.desc(), Question.ticket)
    )
    return [AskedQuestion(question, dialogue) for question, dialogue in rows]


async def release_questions(session: AsyncSession, *, account_id: int, asker_hash: str) -> int:
    """Cut every link from an asker to their questions; the questions stay for the dialogue."""
    result = await session.execute(
        update(Question)
        .where(or_(Question.account_id == account_id, Question.asker_hash == asker_hash))
        .values(account_id=None, asker_hash=None, reply_handle=None, anonymous=True)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def by_ticket(session: AsyncSession, *, ticket: str) -> Question | None:
    """The question of a ticket, as typed or pressed (any case)."""
    return await session.scalar(select(Question).where(Question.ticket == ticket.upper()))


async def with_merged(session: AsyncSession, *, question_id: str) -> list[Question]:
    """A question and the questions merged into it."""
    return list(
        await session.scalars(
            select(Question).where(
                or_(Question.id == question_id, Question.merged_into == question_id)
            )
        )
    )


async def supporter_handles(session: AsyncSession, *, question_ids: list[str]) -> list[bytes]:
    """The sealed reply handles of those who support these questions ("Tôi cũng muốn hỏi")."""
    return list(
        await session.scalars(
            select(Support.reply_handle).where(
                Support.question_id.in_(question_ids),
                Support.reply_handle.is_not(None),
            )
        )
    )


async def dialogue_of(session: AsyncSession, *, question_id: str) -> int | None:
    return await session.scalar(select(Question.dialogue_id).where(Question.id == question_id))
