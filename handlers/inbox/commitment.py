"""A commitment written in the inbox: the shared commitment draft (handlers/commitment_draft.py)
in the inbox's words, with dated deadline buttons and Another date, then previewed and
published to the asker and followers."""

from __future__ import annotations

from datetime import date

from bot.core import buttons as btn
from bot.core.i18n import Translator
from bot.core.messages import Button
from bot.services.pushback import PushBack, commitment_lines
from handlers.commitment_draft import RESPONSIBLE_MAX, CommitmentDraft
from handlers.context import Context
from handlers.drafts import begin
from handlers.inbox.common import (
    agency_name,
    cancel_row,
    draft,
    length_ok,
    preview_buttons,
    published,
    question_of_draft,
    stale,
)
from storage import answers as store
from storage.models import Agency, Commitment, Question, Staff

CONTENT_LIMITS = (10, 1000)


class InboxCommitment(CommitmentDraft):
    """The inbox's words and buttons for a commitment draft on a question."""

    state = "inbox.commit"
    draft = btn.INBOX_DRAFT
    deadline = btn.INBOX_DEADLINE
    other_date = btn.INBOX_OTHER_DATE
    content_limits = CONTENT_LIMITS
    dated_buttons = True

    def stale(self, ctx: Context) -> None:
        stale(ctx)

    async def ask_content(self, ctx: Context, staff: Staff) -> None:
        low, high = CONTENT_LIMITS
        ctx.say(
            ctx.t._(
                "What does {agency} commit to do for #{ticket}? Write it in a few lines "
                "({low}–{high} characters)."
            ).format(
                agency=await agency_name(ctx, staff.agency),
                ticket=ctx.state.data["ticket"],
                low=low,
                high=high,
            ),
            buttons=[cancel_row(ctx)],
        )

    def content_refused(self, ctx: Context, text: str) -> None:
        length_ok(ctx, text, CONTENT_LIMITS)

    def deadline_question(self, ctx: Context) -> str:
        return ctx.t._("By when will it be done?")

    def date_refused(self, ctx: Context, due: date | None) -> None:
        _ = ctx.t._
        if due is None:
            text = _(
                "I could not read that date. Please type it as dd/mm/yyyy, for example {example}."
            ).format(example=self.example(ctx, ctx.policy.answer_days))
        else:
            text = _("The deadline cannot be in the past. Please type today's date or a later one.")
        ctx.say(text, buttons=[cancel_row(ctx)])

    async def ask_responsible(self, ctx: Context, staff: Staff, due: date) -> None:
        agency = await agency_name(ctx, staff.agency)
        ctx.say(
            ctx.t._(
                "Who is responsible? Press the button for {agency}, or type the name of a person "
                "or unit."
            ).format(agency=agency),
            buttons=[[Button(agency, draft(ctx, "ra"))], cancel_row(ctx)],
        )

    def responsible_of(self, ctx: Context, text: str) -> str | None:
        if text and len(text) <= RESPONSIBLE_MAX:
            return text
        ctx.say(
            ctx.t._("Please type a name of at most {high} characters.").format(
                high=RESPONSIBLE_MAX
            ),
            buttons=[cancel_row(ctx)],
        )
        return None

    async def agency_as_responsible(self, ctx: Context, staff: Staff) -> str:
        # Stored as the minutes will print it: in the service's default language.
        agency = await ctx.session.get(Agency, staff.agency)
        name = agency.name if agency is not None else (staff.agency or "")
        return Translator(ctx.default_locale, ctx.zone)._(name)

    def not_a_step(self, ctx: Context) -> None:
        ctx.say(
            ctx.t._("Please use the buttons: publish, rewrite or cancel."),
            buttons=preview_buttons(ctx),
        )

    async def finish(self, ctx: Context, staff: Staff, responsible: str) -> None:
        """The preview: publish, rewrite or cancel."""
        ctx.state.data["responsible"] = responsible
        ctx.state.data["step"] = "preview"
        lines = [
            f"#{ctx.state.data['ticket']}",
            "",
            *commitment_lines(ctx.t, _draft_commitment(ctx, staff)),
        ]
        ctx.say(
            "\n".join(lines),
            title=ctx.t._("Preview of your commitment"),
            buttons=preview_buttons(ctx),
        )


FLOW = InboxCommitment()


def _draft_commitment(ctx: Context, staff: Staff) -> Commitment:
    data = ctx.state.data
    return Commitment(
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=data.get("responsible", ""),
        status="open",
        progress="",
        version=1,
        agency=staff.agency,
    )


async def start_commitment(ctx: Context, staff: Staff, question: Question) -> None:
    begin(ctx, FLOW.state, ticket=question.ticket)
    await FLOW.start_content(ctx, staff)


async def commitment_typed(ctx: Context, staff: Staff, text: str) -> None:
    await FLOW.on_text(ctx, staff, text)


async def deadline_chosen(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    await FLOW.deadline_pressed(ctx, staff, pressed)


async def responsible_is_agency(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    await FLOW.agency_pressed(ctx, staff)


async def publish(ctx: Context, staff: Staff) -> None:
    if ctx.state.data.get("step") != "preview":
        stale(ctx)
        return
    question = await question_of_draft(ctx, staff)
    if question is None:
        return
    data = ctx.state.data
    commitment = await store.add_commitment(
        ctx.session,
        question=question,
        staff=staff,
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=data["responsible"],
        now=ctx.now,
        today=ctx.today,
    )
    count = await PushBack(ctx.notifier).commitment(
        ctx.session,
        commitment=commitment,
        question=question,
        now=ctx.now,
    )
    ctx.clear_state()
    published(
        ctx,
        count,
        ctx.t._("The commitment on #{ticket} is published.").format(ticket=question.ticket),
    )
