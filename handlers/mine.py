"""My questions (/cauhoi): the asker's questions, named and anonymous, with their status."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.lifecycles import CommitmentStatus, QuestionStatus
from bot.services.pushback import excerpt
from handlers.ask import dialogue_title
from handlers.context import Context
from handlers.decisions import DECISION_NAMES
from handlers.menu import menu_buttons
from storage.answers import answers_to, commitments_to, tickets_of
from storage.models import Answer, Commitment, Question
from storage.questions import questions_of
from storage.topics import TOPICS

STATUS_NAMES = {
    QuestionStatus.NEW: N_("waiting for review"),
    QuestionStatus.APPROVED: N_("approved, waiting for an answer"),
    QuestionStatus.REJECTED: N_("not accepted"),
    QuestionStatus.MERGED: N_("joined to another question"),
    QuestionStatus.ANSWERED: N_("answered"),
    QuestionStatus.COMMITTED: N_("commitment made"),
    QuestionStatus.FULFILLED: N_("commitment fulfilled"),
    QuestionStatus.REOPENED: N_("being looked at again"),
    "closed": N_("closed"),
}
EXCERPT = 160
ANSWER_EXCERPT = 100
SHOWN = 20


def _status(
    ctx: Context,
    q: Question,
    *,
    joined: dict[str, str],
    commitments: dict[str, list[Commitment]],
) -> str:
    """The status in words, with what the asker most wants to know about it."""
    _ = ctx.t._
    if q.status == QuestionStatus.MERGED and q.merged_into in joined:
        return _("joined to #{ticket}").format(ticket=joined[q.merged_into])
    if q.status == QuestionStatus.REJECTED and q.reject_reason:
        return _("not accepted: {reason}").format(reason=q.reject_reason)
    if q.status == QuestionStatus.COMMITTED:
        due = [c.due_on for c in commitments.get(q.id, []) if c.status == CommitmentStatus.OPEN]
        if due:
            return _("commitment made, deadline {date}").format(date=ctx.t.short_date(min(due)))
    return _(STATUS_NAMES.get(q.status, q.status))


async def my_questions(ctx: Context) -> None:
    """List the questions this person asked, newest first."""
    _ = ctx.t._
    account = ctx.account
    assert account is not None
    asked = await questions_of(
        ctx.session,
        account_id=account.id,
        asker_hash=ctx.sealer.asker_hash(account.asker_salt, ctx.address),
    )
    if not asked:
        ctx.say(
            _('You have not sent any question yet. Press "Send a question" to start.'),
            buttons=menu_buttons(ctx),
        )
        return
    shown = [item.question for item in asked[:SHOWN]]
    # A merged question's answers and commitments are those of the question it joined.
    followed = {
        q.id: q.merged_into if q.status == QuestionStatus.MERGED and q.merged_into else q.id
        for q in shown
    }
    joined = await tickets_of(
        ctx.session, question_ids=[q.merged_into for q in shown if q.merged_into]
    )
    answers: dict[str, Answer] = {}
    for answer in await answers_to(ctx.session, question_ids=list(set(followed.values()))):
        answers[answer.question_id] = answer  # oldest first: the latest one stays
    commitments: dict[str, list[Commitment]] = {}
    for commitment in await commitments_to(ctx.session, question_ids=list(set(followed.values()))):
        assert commitment.question_id is not None
        commitments.setdefault(commitment.question_id, []).append(commitment)
    blocks = []
    for item in asked[:SHOWN]:
        q = item.question
        text = q.text if len(q.text) <= EXCERPT else q.text[: EXCERPT - 1].rstrip() + "…"
        text = text or _("your voice message")  # asked by voice, not written down yet
        block = _("#{ticket} · {date} · {status}\n{dialogue} · {topic}\n{how}\n“{text}”").format(
            ticket=q.ticket,
            date=ctx.t.short_date(q.submitted_on),
            status=_status(ctx, q, joined=joined, commitments=commitments),
            dialogue=dialogue_title(ctx, item.dialogue),
            topic=_(TOPICS[q.topic].name) if q.topic in TOPICS else q.topic,
            how=_("🕶 anonymous") if q.anonymous else _("👤 with your name"),
            text=text,
        )
        answer = answers.get(followed[q.id])
        if answer is not None and q.status != QuestionStatus.REJECTED:
            block += "\n" + _("💬 Answer: {excerpt}").format(
                excerpt=excerpt(answer.text, ANSWER_EXCERPT)
            )
        if q.decision in DECISION_NAMES:  # the adoption decision on the proposal
            block += "\n" + _("Decision: {decision}").format(decision=_(DECISION_NAMES[q.decision]))
        blocks.append(block)
    if len(asked) > SHOWN:
        blocks.append(_("… and {count} older questions.").format(count=len(asked) - SHOWN))
    title = ctx.t.ngettext("Your question", "Your {count} questions", len(asked)).format(
        count=len(asked)
    )
    ctx.say("\n\n".join(blocks), title=title, buttons=menu_buttons(ctx))
