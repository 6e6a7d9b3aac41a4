"""The inbox's pages and a question's card, as the official reads them."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import N_
from bot.core.messages import Button
from handlers.ask import dialogue_title
from handlers.context import Context
from handlers.inbox.common import PAGE, agency_name, back, commitment_lines, overdue, page_nav
from handlers.support import excerpt
from storage import answers as store
from storage.models import Account, Dialogue, Question, Staff
from storage.topics import TOPICS

SHOWN_ANSWERS = 3
SHOWN_COMMITMENTS = 5

STATUS_MARKS = {
    "approved": N_("⏳ waiting"),
    "answered": N_("✅ answered"),
    "committed": N_("🤝 committed"),
    "fulfilled": N_("🏁 fulfilled"),
}


async def inbox_page(ctx: Context, staff: Staff, page: int) -> None:
    """One page of the inbox: five questions as buttons."""
    _ = ctx.t._
    assert staff.agency is not None
    agency = await agency_name(ctx, staff.agency)
    items = await store.inbox(ctx.session, agency=staff.agency)
    commitments = [Button(_("📌 Our commitments"), btn.COMMITMENTS.build())]
    if not items:
        ctx.say(
            _("There are no questions for {agency} right now.").format(agency=agency),
            title=_("Inbox"),
            buttons=[commitments],
        )
        return
    pages = (len(items) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    shown = items[page * PAGE : (page + 1) * PAGE]
    lines, rows = [], []
    for item in shown:
        q = item.question
        label = f"#{q.ticket} · 👥{q.supporters} · {_mark(ctx, q)}"
        lines.append(f"{label}\n“{excerpt(q.text, 90)}”")
        rows.append([Button(label, btn.INBOX_QUESTION.build(step="q", ticket=q.ticket))])
    rows += page_nav(ctx, page, pages, lambda p: btn.INBOX.build(page=p))
    rows.append(commitments)
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    title = ctx.t.ngettext(
        "{agency}: {count} question", "{agency}: {count} questions", len(items)
    ).format(agency=agency, count=len(items))
    ctx.say("\n\n".join(lines), title=title, buttons=rows)


def _mark(ctx: Context, question: Question) -> str:
    """A question's state in a word: overdue, waiting, answered, committed, fulfilled."""
    if overdue(ctx, question):
        return ctx.t._("⚠️ overdue")
    return ctx.t._(STATUS_MARKS.get(question.status, question.status))


def _wards(ctx: Context, dialogue: Dialogue) -> str:
    if dialogue.kind == "general":
        return ctx.t._("general questions")
    return ", ".join(dialogue.wards) if dialogue.wards else ctx.t._("all wards")


async def _asker(ctx: Context, question: Question) -> str:
    """Who asked: "Người hỏi ẩn danh" for an anonymous question, whatever else is known."""
    if question.anonymous or question.account_id is None:
        return ctx.t._("Anonymous asker")
    account = await ctx.session.get(Account, question.account_id)
    name = account.display_name.strip() if account is not None else ""
    return name or ctx.t._("A named asker (no name given)")


async def card(ctx: Context, staff: Staff, question: Question) -> None:
    """A question as the official reads it, with what was answered and committed so far."""
    _ = ctx.t._
    t = ctx.t
    dialogue = await ctx.session.get(Dialogue, question.dialogue_id)
    assert dialogue is not None
    topic = TOPICS.get(question.topic)
    lines = [
        _("Dialogue: {title}").format(title=dialogue_title(ctx, dialogue)),
        _("Wards: {wards}").format(wards=_wards(ctx, dialogue)),
        _("Topic: {topic}").format(topic=_(topic.name) if topic else question.topic),
        _("Asked by: {asker}").format(asker=await _asker(ctx, question)),
        _("Sent on: {date}").format(date=t.date(question.submitted_on)),
        _("👥 Supporters: {count}").format(count=question.supporters),
        _("Status: {status}").format(status=_mark(ctx, question)),
    ]
    if question.due_on is not None:
        due = _("Deadline to answer: {date}").format(date=t.date(question.due_on))
        lines.append(due + (" " + _("⚠️ overdue") if overdue(ctx, question) else ""))
    if question.sensitive:
        lines.append(_("🔒 Sensitive: never shown in public."))
    lines += ["", f"“{question.text}”", *await _so_far(ctx, question)]
    ctx.say(
        "\n".join(lines),
        title=_("Question #{ticket}").format(ticket=question.ticket),
        buttons=_card_buttons(ctx, question),
    )


async def _so_far(ctx: Context, question: Question) -> list[str]:
    """The last answers and the commitments on the question, for its card."""
    _ = ctx.t._
    lines: list[str] = []
    answers = await store.answers_to(ctx.session, question_ids=[question.id])
    for answer in answers[-SHOWN_ANSWERS:]:
        heading = (
            _("🏛 Answered at the dialogue ({date}):")
            if answer.in_room
            else _("✍️ Answer of {date}:")
        ).format(date=ctx.t.short_date(answer.published_at))
        lines += ["", heading, excerpt(answer.text, 300)]
    if question.answered_in_room and not any(a.in_room for a in answers):
        lines += ["", _("🏛 Answered at the dialogue.")]
    commitments = await store.commitments_to(ctx.session, question_ids=[question.id])
    for commitment in commitments[:SHOWN_COMMITMENTS]:
        lines += ["", *commitment_lines(ctx, commitment)]
    return lines


def _card_buttons(ctx: Context, question: Question) -> list[list[Button]]:
    _ = ctx.t._
    actions = [
        ("a", _("✍️ Answer")),
        ("c", _("🤝 Commitment")),
        ("w", _("↪️ Forward to another agency")),
        ("r", _("🏛 Answered at the dialogue")),
    ]
    return [
        *[
            [Button(label, btn.INBOX_QUESTION.build(step=step, ticket=question.ticket))]
            for step, label in actions
        ],
        *back(ctx),
    ]
