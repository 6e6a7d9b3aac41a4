"""Merging a duplicate into a question already approved: chosen from a list, or typed."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import Translator
from bot.core.messages import Button, Reply
from bot.services.pushback import excerpt
from handlers.context import Context
from handlers.moderation.cards import back, log, show_next, tell_askers
from storage import moderation as mod
from storage.models import Question, Staff

SHOWN_TO_MERGE = 8


async def merge_choices(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    _ = ctx.t._
    T = question.ticket
    choices = await mod.mergeable(ctx.session, question=question, limit=SHOWN_TO_MERGE)
    if not choices:
        ctx.say(
            _("There is no approved question in this dialogue to join #{ticket} to.").format(
                ticket=T
            ),
            buttons=[back(ctx, question)],
        )
        return
    ctx.say(
        _(
            "Which question does #{ticket} repeat? Its asker will follow that question and "
            "receive its answer."
        ).format(ticket=T),
        buttons=[
            *[
                [
                    Button(
                        f"#{q.ticket} · 👥 {q.supporters} · {excerpt(q.text, 40)}",
                        btn.MODERATION_MERGE.build(ticket=T, into=q.ticket),
                    )
                ]
                for q in choices
            ],
            [Button(_("⌨️ Type a ticket"), btn.MODERATION.build(step="mt", ticket=T))],
            back(ctx, question),
        ],
    )


async def merge_into(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    if len(rest) != 1:
        await merge_choices(ctx, staff, question, rest)
        return
    await merge(ctx, staff, question, rest[0])


async def ask_ticket(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    ctx.state.name, ctx.state.data = "mod.merge", {"ticket": question.ticket}
    ctx.say(
        ctx.t._(
            "Type the ticket of the question to join #{ticket} to (6 letters and digits)."
        ).format(ticket=question.ticket),
        buttons=[back(ctx, question)],
    )


async def typed_ticket(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    if await merge(ctx, staff, question, text.lstrip("#").strip()[:12]):
        ctx.clear_state()


async def merge(ctx: Context, staff: Staff, duplicate: Question, ticket: str) -> bool:
    """Join `duplicate` to the approved question of `ticket`; both askers are told."""
    _ = ctx.t._
    kept = await mod.find_by_ticket(ctx.session, ticket=ticket, lock=True)
    if (
        kept is None
        or kept.id == duplicate.id
        or kept.dialogue_id != duplicate.dialogue_id
        or kept.status != "approved"
    ):
        ctx.say(
            _(
                "#{ticket} is not an approved question of the same dialogue. Type another "
                "ticket, or go back."
            ).format(ticket=ticket.upper()),
            buttons=[back(ctx, duplicate)],
        )
        return False

    def to_duplicate(t: Translator) -> Reply:
        return Reply(
            title=t._("About your question #{ticket}").format(ticket=duplicate.ticket),
            text=t._(
                "Thank you for your question “{excerpt}”. Someone asked the same before, so it "
                "was joined to question #{kept}: “{kept_excerpt}”.\n\n"
                "You will receive its answer here."
            ).format(
                excerpt=excerpt(duplicate.text),
                kept=kept.ticket,
                kept_excerpt=excerpt(kept.text),
            ),
        )

    def to_kept(t: Translator) -> Reply:
        return Reply(
            title=t._("About your question #{ticket}").format(ticket=kept.ticket),
            text=t._(
                "Another person asked the same as question #{ticket} “{excerpt}”, and the two "
                "were joined: the question now counts for more people."
            ).format(ticket=kept.ticket, excerpt=excerpt(kept.text)),
        )

    # Told before the merge: afterwards the duplicate's asker would count among the kept one's.
    # (Askers of questions joined to it earlier follow it too, and hear of this one as well.)
    await tell_askers(ctx, kept, f"joined:{kept.id}:{duplicate.id}", to_kept)
    await tell_askers(ctx, duplicate, f"merged:{duplicate.id}", to_duplicate)
    await mod.merge(ctx.session, duplicate=duplicate, kept=kept, staff_id=staff.id, on=ctx.today)
    log.info("staff %s merged two questions", staff.id)
    ctx.notice = _("🔗 Merged")
    ctx.say(
        _("Question #{ticket} is joined to #{kept}; both askers are told.").format(
            ticket=duplicate.ticket, kept=kept.ticket
        )
    )
    await show_next(ctx, staff, after=duplicate)
    return True
