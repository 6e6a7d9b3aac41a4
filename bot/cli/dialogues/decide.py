"""`doithoai dialogue decide | decisions`: adoption decisions (tiếp thu) on proposals and
commitments, issue 15."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _fail, _go
from bot.cli.dialogues.common import (
    Table,
    console,
    dialogue_app,
    get_dialogue,
)
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Commitment, Question


SUBJECT_MAX = 20  # characters of TICKET or c<commitment id>


@dialogue_app.command("decide")
def decide(
    subject: str = typer.Argument(..., metavar="TICKET|c<ID>"),
    decision: str = typer.Option(..., "--decision", help="adopted | partly | not | study"),
    reason: str = typer.Option("", "--reason", help="Why not (required when not adopted)."),
    change: str = typer.Option("", "--change", help="What changed in the policy."),
) -> None:
    """Record the decision on a citizen's proposal (its ticket) or on a commitment (c<id>):
    adopted, partly, not (with the reason) or under study. Its asker and followers are told
    once, each in their language, and the board shows it."""
    import re

    from bot.core.config import SettingsError, require
    from handlers.decisions import problem_text
    from storage.decisions import DecisionError, checked

    settings, t = _context()
    try:
        decision, reason, change = checked(decision, reason=reason, change=change)
    except DecisionError as exc:
        _fail(problem_text(t, exc))
    text = subject.strip()
    if not text or len(text) > SUBJECT_MAX or not re.fullmatch(r"#?[A-Za-z0-9]+", text):
        _fail(t._("Give a question's ticket or c and a commitment's number, e.g. c12."))
    try:
        require(settings, "secret_key")
    except SettingsError as exc:
        _fail(t._("Configuration error: {detail}").format(detail=exc))

    async def work(session: AsyncSession) -> None:
        from bot.core.clock import utcnow
        from bot.services import Notifier
        from bot.services.decisions import record_decision
        from handlers.decisions import DECISION_NAMES

        commitment, target, label = await _subject(session, text, t)
        changed, told = await record_decision(
            session,
            Notifier.from_settings(settings),
            commitment=commitment,
            question=target,
            decision=decision,
            reason=reason,
            change=change,
            now=utcnow(),
        )
        name = t._(DECISION_NAMES[decision])
        if changed:
            recorded = t._("Decision recorded for {subject}: {decision}.")
        else:
            recorded = t._("The decision on {subject} was already recorded: {decision}.")
        console.print(recorded.format(subject=label, decision=name))
        console.print(t._("{count} people will be told.").format(count=told))

    _go(settings, work)


async def _subject(
    session: AsyncSession, text: str, t: Translator
) -> tuple[Commitment | None, Question | None, str]:
    """What `text` names: a commitment (with its question, if any) or a published question,
    and its label (c12, #ABC123); anything else ends the command with one line."""
    from storage import dialogue_decisions as store
    from storage.answers import by_ticket
    from storage.models import Question

    commitment_id = None
    if not text.startswith("#"):
        commitment_id = await _commitment_subject(session, text, t)
    if commitment_id is not None:
        commitment = await store.commitment(session, commitment_id=commitment_id)
        assert commitment is not None
        target = None
        if commitment.question_id is not None:
            target = await session.get(Question, commitment.question_id)
        return commitment, target, f"c{commitment.id}"
    ticket = text.lstrip("#").upper()
    target = await by_ticket(session, ticket=ticket)
    if target is None:
        _fail(t._("There is no question #{ticket}.").format(ticket=ticket))
    assert target is not None
    if not store.decidable(target):
        _fail(
            t._(
                "#{ticket} is not published (new, refused or merged): only an approved "
                "question gets a decision."
            ).format(ticket=target.ticket)
        )
    return None, target, f"#{target.ticket}"


async def _commitment_subject(session: AsyncSession, text: str, t: Translator) -> int | None:
    """The commitment `text` names (c<id>), or None when it names a question's ticket. A text
    that could be both (a ticket such as C34679) is refused: write #C34679 for the question."""
    import re

    from storage import dialogue_decisions as store
    from storage.answers import by_ticket

    found = re.fullmatch(r"[cC](\d{1,9})", text)
    if found is None:
        return None
    commitment = await store.commitment(session, commitment_id=int(found.group(1)))
    question = await by_ticket(session, ticket=text)
    if commitment is not None and question is not None:
        _fail(
            t._(
                "{subject} is both a ticket and a commitment: write #{ticket} for the question."
            ).format(subject=text, ticket=question.ticket)
        )
    if commitment is not None:
        return commitment.id
    if question is not None:
        return None
    _fail(t._("There is no question or commitment {subject}.").format(subject=text))
    return None


@dialogue_app.command("decisions")
def decisions_(dialogue_id: int = typer.Argument(..., metavar="ID")) -> None:
    """The decisions taken on a dialogue's proposals and commitments (no asker is shown)."""
    from bot.services.pushback import excerpt
    from handlers.decisions import DECISION_NAMES
    from storage.board_agencies import agency_names
    from storage.dialogue_decisions import decided_in
    from storage.topics import AGENCIES

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await get_dialogue(session, dialogue_id=dialogue_id)
        if d is None:
            _fail(t._("There is no dialogue {id}.").format(id=dialogue_id), code=1)
        assert d is not None
        items = await decided_in(session, dialogue_id=d.id)
        if not items:
            console.print(t._("No decision has been recorded in this dialogue yet."))
            return
        names = await agency_names(session)
        table = Table(
            t._("Proposal or commitment"),
            t._("Agency"),
            t._("Decision"),
            t._("Decided on"),
            t._("What changes"),
            t._("Why"),
            title=t._("Decisions: {title}").format(title=d.title),
        )
        for item in items:
            agency = names.get(item.agency, item.agency)
            table.add_row(
                f"{item.label} {excerpt(item.text, 60)}",
                t._(agency) if item.agency in AGENCIES else agency,
                t._(DECISION_NAMES[item.decision]),
                t.short_date(item.decided_on),
                item.change or "–",
                item.reason or "–",
            )
        console.print(table)

    _go(settings, work)
