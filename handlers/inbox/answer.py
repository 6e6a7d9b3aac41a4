"""An answer written in the inbox: typed, previewed, published to the asker and followers."""

from __future__ import annotations

from bot.services.pushback import PushBack
from handlers.context import Context
from handlers.drafts import begin
from handlers.inbox.common import (
    cancel_row,
    length_ok,
    preview_buttons,
    published,
    question_of_draft,
)
from storage import answers as store
from storage.models import Question, Staff

ANSWER_LIMITS = (10, 3000)


async def start_answer(ctx: Context, staff: Staff, question: Question) -> None:
    begin(ctx, "inbox.answer", ticket=question.ticket)
    ask_answer(ctx)


def ask_answer(ctx: Context) -> None:
    low, high = ANSWER_LIMITS
    ctx.say(
        ctx.t._(
            "Write the answer to #{ticket} ({low}–{high} characters). It will go to the asker "
            "and to everyone who follows the question."
        ).format(ticket=ctx.state.data["ticket"], low=low, high=high),
        buttons=[cancel_row(ctx)],
    )


async def answer_typed(ctx: Context, staff: Staff, text: str) -> None:
    if not length_ok(ctx, text, ANSWER_LIMITS):
        return
    ctx.state.data["text"] = text
    ctx.say(
        f"#{ctx.state.data['ticket']}\n\n{text}",
        title=ctx.t._("Preview of your answer"),
        buttons=preview_buttons(ctx),
    )


async def publish(ctx: Context, staff: Staff) -> None:
    question = await question_of_draft(ctx, staff)
    if question is None:
        return
    answer = await store.add_answer(
        ctx.session,
        question=question,
        staff=staff,
        text=ctx.state.data["text"],
        now=ctx.now,
        today=ctx.today,
    )
    count = await PushBack(ctx.notifier).answer(
        ctx.session,
        answer=answer,
        question=question,
        now=ctx.now,
    )
    ctx.clear_state()
    published(
        ctx, count, ctx.t._("The answer to #{ticket} is published.").format(ticket=question.ticket)
    )
