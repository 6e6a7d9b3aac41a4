"""A commitment recorded in the room, on a question or for the dialogue as a whole: the agency
is chosen first, then the shared commitment draft (handlers/commitment_draft.py) in the room's
words and buttons; it is recorded at once, without a preview."""

from __future__ import annotations

from datetime import date

from bot.core import buttons as btn
from bot.core.messages import Button
from bot.services.pushback import PushBack
from handlers.commitment_draft import LATER_DAYS, RESPONSIBLE_MAX, CommitmentDraft
from handlers.context import Context
from handlers.drafts import begin
from handlers.room.common import allowed_dialogue, allowed_question, back, cancel_row, stale
from storage import followup
from storage.models import Agency, Commitment, Dialogue, Question, Staff

CONTENT_MIN, CONTENT_MAX = 5, 1000


class RoomCommitment(CommitmentDraft):
    """The room's words and buttons for a commitment draft, its agency chosen first."""

    state = "room.commit"
    draft = btn.ROOM_DRAFT
    deadline = btn.ROOM_DEADLINE
    content_limits = (CONTENT_MIN, CONTENT_MAX)

    def stale(self, ctx: Context) -> None:
        stale(ctx)

    async def ask_content(self, ctx: Context, staff: Staff) -> None:
        agency = await ctx.session.get(Agency, ctx.state.data.get("agency", ""))
        assert agency is not None
        ctx.say(
            ctx.t._("What does {agency} commit to do? Please type it in one message.").format(
                agency=ctx.t._(agency.name)
            ),
            buttons=[cancel_row(ctx)],
        )

    def content_refused(self, ctx: Context, text: str) -> None:
        ctx.say(
            ctx.t._("Please write the commitment in {min} to {max} characters.").format(
                min=CONTENT_MIN, max=CONTENT_MAX
            ),
            buttons=[cancel_row(ctx)],
        )

    def deadline_question(self, ctx: Context) -> str:
        return ctx.t._("By when? Press a button, or type a date as dd/mm/yyyy.")

    def date_refused(self, ctx: Context, due: date | None) -> None:
        self.ask_deadline(
            ctx,
            ctx.t._(
                "Please type a date that has not passed, like {example}, or press a button."
            ).format(example=self.example(ctx, LATER_DAYS)),
        )

    async def ask_responsible(self, ctx: Context, staff: Staff, due: date) -> None:
        _ = ctx.t._
        ctx.say(
            _(
                "Deadline: {date}. Who is responsible? Type a name or a unit, or press the agency."
            ).format(date=ctx.t.date(due)),
            buttons=[
                [Button(_("🏛 The agency itself"), self.draft_button(ctx, "cr"))],
                cancel_row(ctx),
            ],
        )

    def draft_button(self, ctx: Context, step: str) -> str:
        return self.draft.build(step=step, nonce=ctx.state.data["nonce"])

    def responsible_of(self, ctx: Context, text: str) -> str | None:
        return text[:RESPONSIBLE_MAX]

    async def agency_as_responsible(self, ctx: Context, staff: Staff) -> str:
        agency = await ctx.session.get(Agency, ctx.state.data.get("agency", ""))
        return ctx.t._(agency.name) if agency else ""

    def not_a_step(self, ctx: Context) -> None:
        ctx.say(ctx.t._("Please choose with the buttons below."), buttons=[cancel_row(ctx)])

    async def finish(self, ctx: Context, staff: Staff, responsible: str) -> None:
        """Recorded, and told to the people who follow the question."""
        await _record(ctx, staff, responsible)


FLOW = RoomCommitment()


async def start_commitment(ctx: Context, dialogue: Dialogue, question: Question | None) -> None:
    """Which agency commits? Its own first, for a question."""
    _ = ctx.t._
    nonce = begin(
        ctx,
        FLOW.state,
        step="agency",
        dialogue=dialogue.id,
        ticket=question.ticket if question is not None else None,
    )
    agencies = await followup.agencies_first(
        ctx.session, first=question.agency if question is not None else None
    )
    if question is not None:
        text = _("Commitment on #{ticket}: which agency commits?").format(ticket=question.ticket)
    else:
        text = _("General commitment of the dialogue: which agency commits?")
    ctx.say(
        text,
        title=_("Record a commitment"),
        buttons=[
            *[
                [Button(_(a.name), btn.ROOM_AGENCY.build(nonce=nonce, agency=a.code))]
                for a in agencies
            ],
            cancel_row(ctx),
        ],
    )


async def choose_agency(ctx: Context, staff: Staff, code: str) -> None:
    if not FLOW.at(ctx, "agency"):
        stale(ctx)
        return
    agency = await ctx.session.get(Agency, code)
    if agency is None or not agency.active:
        stale(ctx)
        return
    ctx.state.data["agency"] = agency.code
    await FLOW.start_content(ctx, staff)


async def _record(ctx: Context, staff: Staff, responsible: str) -> None:
    data = dict(ctx.state.data)
    ctx.clear_state()
    dialogue = await allowed_dialogue(ctx, staff, data.get("dialogue", -1))
    if dialogue is None:
        return
    question = None
    if data.get("ticket"):
        found = await allowed_question(ctx, staff, data["ticket"])
        if found is None:
            return
        question = found[0]
    agency = await ctx.session.get(Agency, data.get("agency", ""))
    if agency is None or "content" not in data or "due" not in data:
        stale(ctx)
        return
    commitment = await followup.record_commitment(
        ctx.session,
        dialogue_id=dialogue.id,
        question=question,
        agency=agency.code,
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=responsible,
        staff_id=staff.id,
        now=ctx.now,
        today=ctx.today,
    )
    lines = _recorded(ctx, agency, commitment)
    if question is not None:
        lines += ["", await _told(ctx, commitment, question)]
    ctx.notice = ctx.t._("Recorded")
    ctx.say(
        "\n".join(lines), title=ctx.t._("Commitment recorded"), buttons=[back(ctx, dialogue.id)]
    )


def _recorded(ctx: Context, agency: Agency, commitment: Commitment) -> list[str]:
    _ = ctx.t._
    return [
        _("🏛 {agency}").format(agency=_(agency.name)),
        _("🤝 Commitment: {content}").format(content=commitment.content),
        _("📅 Deadline: {date}").format(date=ctx.t.date(commitment.due_on)),
        _("👤 Responsible: {who}").format(who=commitment.responsible or "–"),
    ]


async def _told(ctx: Context, commitment: Commitment, question: Question) -> str:
    """The commitment sent to the people who follow the question; how many, in a line."""
    told = await PushBack(ctx.notifier).commitment(
        ctx.session,
        commitment=commitment,
        question=question,
        now=ctx.now,
    )
    return ctx.t.ngettext(
        "#{ticket}: sent to {count} person who follows the question.",
        "#{ticket}: sent to {count} people who follow the question.",
        told,
    ).format(ticket=question.ticket, count=told)
