"""Answered at the dialogue, from the inbox: a short summary typed, or skipped."""

from __future__ import annotations

from bot.core.messages import Button
from bot.services.pushback import PushBack
from handlers.context import Context
from handlers.drafts import begin
from handlers.inbox.common import back, cancel_row, draft, length_ok, published, question_of_draft
from storage import answers as store
from storage.models import Question, Staff

SUMMARY_LIMITS = (5, 1000)


async def start_in_room(ctx: Context, staff: Staff, question: Question) -> None:
    _ = ctx.t._
    begin(ctx, "inbox.room", ticket=question.ticket)
    ctx.say(
        _(
            "#{ticket} was answered at the dialogue. You can type a short summary of the answer "
            "given there, and it will go to the asker and the followers. Or press Skip."
        ).format(ticket=question.ticket),
        buttons=[[Button(_("⏭ Skip"), draft(ctx, "sk"))], cancel_row(ctx)],
    )


async def summary_typed(ctx: Context, staff: Staff, text: str) -> None:
    if length_ok(ctx, text, SUMMARY_LIMITS):
        await do_in_room(ctx, staff, text)


async def do_in_room(ctx: Context, staff: Staff, summary: str) -> None:
    question = await question_of_draft(ctx, staff)
    if question is None:
        return
    await store.mark_in_room(ctx.session, question=question, staff=staff, today=ctx.today)
    ctx.clear_state()
    done = ctx.t._("#{ticket} is marked as answered at the dialogue.").format(
        ticket=question.ticket
    )
    if not summary:
        ctx.say(done, buttons=back(ctx))
        return
    answer = await store.add_answer(
        ctx.session,
        question=question,
        staff=staff,
        text=summary,
        now=ctx.now,
        today=ctx.today,
        in_room=True,
    )
    count = await PushBack(ctx.notifier).answer(
        ctx.session,
        answer=answer,
        question=question,
        now=ctx.now,
    )
    published(ctx, count, done)
