"""Adoption decisions (tiếp thu) as people read them, for both processes: their names, why one
cannot be recorded, and the news of a decision on a dialogue's proposal or commitment taken
back to its asker (anonymous ones through the sealed handle) and followers, each once, in their
language (a consultation's decisions go out with handlers/consultation_news.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import N_, Translator
from bot.core.messages import Reply
from bot.services.notifier import Notifier
from bot.services.pushback import PushBack, excerpt
from storage import decisions
from storage.models import Commitment, Question

DECISION_NAMES = {
    "adopted": N_("Adopted"),
    "partly": N_("Partly adopted"),
    "not_adopted": N_("Not adopted"),
    "under_study": N_("Under study"),
}
CHOICES = "adopted | partly | not | study"


def problem_text(t: Translator, error: decisions.DecisionError) -> str:
    """Why a decision cannot be recorded, in one line that names the option to fix."""
    if error.problem == decisions.NO_REASON:
        return "--reason: " + t._("say why it was not adopted")
    if error.problem == decisions.TOO_LONG:
        return "--reason/--change: " + t._("at most {count} characters").format(
            count=decisions.TEXT_MAX
        )
    return "--decision: " + t._("give one of: {choices}").format(choices=CHOICES)


def decision_lines(t: Translator, item: Question | Commitment) -> list[str]:
    """The decision, what changes and why, as people read them."""
    assert item.decision is not None
    lines = [t._("Decision: {decision}").format(decision=t._(DECISION_NAMES[item.decision]))]
    if item.decision_change:
        lines.append(t._("What changes: {change}").format(change=item.decision_change))
    if item.decision_reason:
        lines.append(t._("Why: {reason}").format(reason=item.decision_reason))
    return lines


def decision_event(kind: str, ident: str | int, item: Question | Commitment) -> str:
    """The news of a decision, once per decision and day ("decision:QUESTION:DAY:DECISION",
    "decision:cID:DAY:DECISION"): correcting a reason the same day tells nobody again."""
    assert item.decided_on is not None
    return f"decision:{kind}{ident}:{item.decided_on.isoformat()}:{item.decision}"


async def publish_question_decision(
    session: AsyncSession,
    *,
    question: Question,
    notifier: Notifier,
    now: datetime | None = None,
) -> int:
    """Tell the asker of a proposal (and the askers merged into it, and its followers) the
    decision taken on it, once each; returns the new messages."""
    if question.decision is None:
        return 0

    def build(t: Translator) -> Reply:
        lines = [
            t._("Question #{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text)
            ),
            "",
            *decision_lines(t, question),
        ]
        return Reply(title=t._("A decision on your proposal"), text="\n".join(lines))

    return await PushBack(notifier).tell(
        session,
        question_id=question.id,
        event=decision_event("", question.id, question),
        build=build,
        now=now,
    )


async def publish_commitment_decision(
    session: AsyncSession,
    *,
    commitment: Commitment,
    question: Question | None,
    notifier: Notifier,
    now: datetime | None = None,
) -> int:
    """Tell the people of a commitment's question the decision taken on the commitment, once
    each. A commitment tied to no question reaches nobody here (returns 0): its decision is on
    the dialogue's page."""
    if commitment.decision is None or question is None or commitment.question_id != question.id:
        return 0

    def build(t: Translator) -> Reply:
        lines = [
            t._("Question #{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text)
            ),
            t._("🤝 Commitment: {content}").format(content=commitment.content),
            "",
            *decision_lines(t, commitment),
        ]
        return Reply(title=t._("A decision on a commitment you follow"), text="\n".join(lines))

    return await PushBack(notifier).tell(
        session,
        question_id=question.id,
        event=decision_event("c", commitment.id, commitment),
        build=build,
        now=now,
    )
