"""Our commitments: the agency's open commitments, their progress and their fulfilment."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.messages import Button
from bot.services.pushback import PushBack
from bot.services.pushback import commitment_lines as draft_lines
from handlers.ask import dialogue_title
from handlers.context import Context
from handlers.drafts import begin
from handlers.inbox.common import (
    PAGE,
    back,
    cancel_row,
    commitment_lines,
    length_ok,
    own_commitment,
    page_nav,
    preview_buttons,
    published,
)
from handlers.support import excerpt
from storage import answers as store
from storage.models import Commitment, Dialogue, Question, Staff

PROGRESS_LIMITS = (5, 1000)
# The length of the quote of a question on a commitment's card.
EXCERPT = 120


async def commitments_page(ctx: Context, staff: Staff, page: int) -> None:
    """The agency's open commitments, soonest deadline first, overdue ones marked."""
    _ = ctx.t._
    assert staff.agency is not None
    commitments = await store.open_commitments(ctx.session, agency=staff.agency)
    rows_back = back(ctx)
    if not commitments:
        ctx.say(
            _("Your agency has no open commitments."), title=_("Our commitments"), buttons=rows_back
        )
        return
    pages = (len(commitments) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    tickets = await store.tickets_of(
        ctx.session, question_ids=[c.question_id for c in commitments if c.question_id]
    )
    lines, rows = [], []
    for c in commitments[page * PAGE : (page + 1) * PAGE]:
        what = (
            f"#{tickets[c.question_id]}" if c.question_id in tickets else _("made at the dialogue")
        )
        label = f"{ctx.t.short_date(c.due_on)} · {what}"
        if c.due_on < ctx.today:
            label += " · " + _("⚠️ overdue")
        lines.append(f"{label}\n{excerpt(c.content, 90)}")
        rows.append([Button(label, btn.COMMITMENT.build(step="k", commitment=c.id))])
    rows += page_nav(ctx, page, pages, lambda p: btn.COMMITMENTS_PAGE.build(page=p))
    rows += rows_back
    ctx.say("\n\n".join(lines), title=_("Our commitments"), buttons=rows)


async def commitment_card(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    _ = ctx.t._
    lines = []
    if commitment.question_id is not None:
        question = await ctx.session.get(Question, commitment.question_id)
        if question is not None:
            lines += [
                _("#{ticket}: “{excerpt}”").format(
                    ticket=question.ticket, excerpt=excerpt(question.text, EXCERPT)
                ),
                "",
            ]
    else:
        dialogue = await ctx.session.get(Dialogue, commitment.dialogue_id)
        if dialogue is not None:
            lines += [
                _("Made at the dialogue: {title}").format(title=dialogue_title(ctx, dialogue)),
                "",
            ]
    lines += commitment_lines(ctx, commitment)
    rows = []
    if commitment.status == "open":
        rows += [
            [
                Button(
                    _("📝 Update progress"),
                    btn.COMMITMENT.build(step="kp", commitment=commitment.id),
                )
            ],
            [Button(_("✅ Fulfilled"), btn.COMMITMENT.build(step="kf", commitment=commitment.id))],
        ]
    rows.append([Button(_("📌 Our commitments"), btn.COMMITMENTS.build())])
    ctx.say("\n".join(lines), title=_("Commitment"), buttons=rows)


def _still_open(ctx: Context, commitment: Commitment) -> bool:
    if commitment.status == "open":
        return True
    ctx.notice = ctx.t._("Already fulfilled.")
    ctx.say(ctx.t._("This commitment is already fulfilled."), buttons=back(ctx))
    return False


async def start_progress(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    if not _still_open(ctx, commitment):
        return
    begin(ctx, "inbox.progress", commitment=commitment.id)
    low, high = PROGRESS_LIMITS
    ctx.say(
        ctx.t._(
            "What has been done so far? ({low}–{high} characters). It will go to the people "
            "who follow the question."
        ).format(low=low, high=high),
        buttons=[cancel_row(ctx)],
    )


async def progress_typed(ctx: Context, staff: Staff, text: str) -> None:
    if not length_ok(ctx, text, PROGRESS_LIMITS):
        return
    ctx.state.data["text"] = text
    commitment = await ctx.session.get(Commitment, ctx.state.data["commitment"])
    assert commitment is not None
    draft = Commitment(
        content=commitment.content,
        due_on=commitment.due_on,
        responsible=commitment.responsible,
        status="open",
        progress=text,
    )
    ctx.say(
        "\n".join(draft_lines(ctx.t, draft)),
        title=ctx.t._("Preview of the progress"),
        buttons=preview_buttons(ctx),
    )


async def publish_progress(ctx: Context, staff: Staff) -> None:
    commitment = await own_commitment(ctx, staff, int(ctx.state.data["commitment"]), "progress")
    if commitment is None or not _still_open(ctx, commitment):
        ctx.clear_state()
        return
    await store.update_progress(
        ctx.session,
        commitment=commitment,
        staff=staff,
        progress=ctx.state.data["text"],
        now=ctx.now,
        today=ctx.today,
    )
    ctx.clear_state()
    count = await _push(ctx, commitment)
    published(ctx, count, ctx.t._("The progress is published."))


async def fulfil(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    if not _still_open(ctx, commitment):
        return
    await store.fulfil(
        ctx.session, commitment=commitment, staff=staff, now=ctx.now, today=ctx.today
    )
    count = await _push(ctx, commitment)
    published(ctx, count, ctx.t._("The commitment is marked as fulfilled."))


async def _push(ctx: Context, commitment: Commitment) -> int:
    if commitment.question_id is None:
        return 0
    question = await ctx.session.get(Question, commitment.question_id)
    if question is None:
        return 0
    return await PushBack(ctx.notifier).commitment(
        ctx.session,
        commitment=commitment,
        question=question,
        now=ctx.now,
    )
