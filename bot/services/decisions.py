"""Adoption decisions (tiếp thu) recorded on a dialogue's proposal or commitment, and taken back
to its asker and followers (handlers.decisions words them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.notifier import Notifier
from handlers.decisions import publish_commitment_decision, publish_question_decision
from storage import dialogue_decisions as store
from storage.models import Commitment, Question


async def record_decision(
    session: AsyncSession,
    notifier: Notifier,
    *,
    commitment: Commitment | None,
    question: Question | None,
    decision: str,
    reason: str,
    change: str,
    now: datetime | None = None,
) -> tuple[bool, int]:
    """Record the decision on the commitment (when given) or else on the question, and tell
    their people once; returns whether it changed and how many people will be told."""
    now = notifier.now(now)
    values = dict(
        decision=decision, reason=reason, change=change, on=now.astimezone(notifier.zone).date()
    )
    if commitment is not None:
        changed = await store.decide_commitment(session, commitment=commitment, **values)
        told = await publish_commitment_decision(
            session, commitment=commitment, question=question, notifier=notifier, now=now
        )
    else:
        assert question is not None
        changed = await store.decide_question(session, question=question, **values)
        told = await publish_question_decision(
            session, question=question, notifier=notifier, now=now
        )
    return changed, told
