"""Forwarding a question to another agency, with a note; its officials are told."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import Translator, choose
from bot.core.messages import Button, Reply
from handlers.context import Context
from handlers.drafts import begin
from handlers.inbox.common import back, cancel_row, draft, question_of_draft, stale
from handlers.support import excerpt
from storage import answers as store
from storage.models import Agency, Question, Staff
from storage.outbox import PRIORITY_REPLY, Outgoing, enqueue_many

NOTE_MAX = 500
# The length of the quote of a question an official of the new agency reads.
EXCERPT = 120


async def choose_agency(ctx: Context, staff: Staff, question: Question) -> None:
    _ = ctx.t._
    assert staff.agency is not None
    agencies = await store.other_agencies(ctx.session, besides=staff.agency)
    rows = [
        [Button(_(a.name), btn.INBOX_FORWARD.build(ticket=question.ticket, agency=a.code))]
        for a in agencies
    ]
    rows.append([Button(_("⬅️ Back"), btn.INBOX_QUESTION.build(step="q", ticket=question.ticket))])
    ctx.say(_("To which agency should #{ticket} go?").format(ticket=question.ticket), buttons=rows)


async def forward_to(ctx: Context, staff: Staff, question: Question, code: str) -> None:
    _ = ctx.t._
    target = await ctx.session.get(Agency, code)
    if target is None or not target.active or target.code == staff.agency:
        stale(ctx)
        return
    begin(ctx, "inbox.forward", ticket=question.ticket, to=target.code)
    ctx.say(
        _(
            "Add a note for {agency}: why the question is theirs, what you already know. Or "
            "press Skip."
        ).format(agency=_(target.name)),
        buttons=[[Button(_("⏭ Skip"), draft(ctx, "sk"))], cancel_row(ctx)],
    )


async def forward_note(ctx: Context, staff: Staff, text: str) -> None:
    if len(text) > NOTE_MAX:
        ctx.say(
            ctx.t._("Please keep the note under {high} characters.").format(high=NOTE_MAX),
            buttons=[cancel_row(ctx)],
        )
        return
    await do_forward(ctx, staff, text)


async def do_forward(ctx: Context, staff: Staff, note: str) -> None:
    _ = ctx.t._
    question = await question_of_draft(ctx, staff)
    if question is None:
        return
    target = await ctx.session.get(Agency, ctx.state.data["to"])
    if target is None or not target.active:
        ctx.clear_state()
        stale(ctx)
        return
    source = question.agency
    event = await store.forward(
        ctx.session, question=question, staff=staff, to=target.code, note=note, today=ctx.today
    )
    await tell_officials(ctx, question, source=source, note=note, event_id=event.id)
    ctx.clear_state()
    ctx.say(
        _("#{ticket} was forwarded to {agency}. It has left your inbox.").format(
            ticket=question.ticket, agency=_(target.name)
        ),
        buttons=back(ctx),
    )


async def tell_officials(
    ctx: Context, question: Question, *, source: str, note: str, event_id: int
) -> None:
    """Each active official of the new agency is told, in their language, once."""
    source_agency = await ctx.session.get(Agency, source)
    target_agency = await ctx.session.get(Agency, question.agency)
    messages = []
    for official, locale in await store.officials_of(ctx.session, agency=question.agency):
        t = Translator(choose(locale, ctx.default_locale), ctx.zone)
        lines = [
            t._("#{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text, EXCERPT)
            ),
            t._("From: {agency}").format(
                agency=t._(source_agency.name) if source_agency else source
            ),
        ]
        if note:
            lines.append(t._("Note: {note}").format(note=note))
        reply = Reply(
            title=t._("A question was forwarded to {agency}").format(
                agency=t._(target_agency.name) if target_agency else question.agency
            ),
            text="\n".join(lines),
            buttons=(
                (
                    Button(
                        t._("Open #{ticket}").format(ticket=question.ticket),
                        btn.INBOX_QUESTION.build(step="q", ticket=question.ticket),
                    ),
                ),
                (Button(t._("📥 Open the inbox"), btn.INBOX.build()),),
            ),
        )
        assert official.channel is not None and official.user_id is not None
        messages.append(
            Outgoing(
                key=f"forward:{question.id}:{event_id}:{official.id}",
                channel=official.channel,
                recipient=official.user_id,
                body=reply.to_json(),
                priority=PRIORITY_REPLY,
            )
        )
    if messages:
        await enqueue_many(ctx.session, messages=messages, now=ctx.now)
