"""What the inbox's sub-flows share: the refusals, the way back, the checks that a question or a
commitment is the official's agency's, and the buttons of a draft."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core import buttons as btn
from bot.core.messages import Button
from bot.services.pushback import commitment_lines as _lines
from handlers import drafts
from handlers.context import Context
from storage import answers as store
from storage.models import Agency, Commitment, Question, Staff

# The inbox's refusals are logged under one name, whichever sub-flow refuses.
log = logging.getLogger("handlers.inbox")

PAGE = 5
PREFIX = "inbox."


def stale(ctx: Context) -> None:
    _ = ctx.t._
    ctx.notice = _("This button is out of date.")
    ctx.say(
        _("That button is from an earlier message."),
        buttons=[[Button(_("📥 Open the inbox"), btn.INBOX.build())]],
    )


def back(ctx: Context) -> list[list[Button]]:
    return [[Button(ctx.t._("📥 Back to the inbox"), btn.INBOX.build())]]


def page_nav(ctx: Context, page: int, pages: int, at: Callable[[int], str]) -> list[list[Button]]:
    """The row of Previous / Next buttons of a paged list (none when there is one page)."""
    _ = ctx.t._
    nav = []
    if page > 0:
        nav.append(Button(_("◀️ Previous"), at(page - 1)))
    if page < pages - 1:
        nav.append(Button(_("Next ▶️"), at(page + 1)))
    return [nav] if nav else []


def overdue(ctx: Context, question: Question) -> bool:
    return (
        question.status == "approved"
        and question.due_on is not None
        and question.due_on < ctx.today
    )


async def agency_name(ctx: Context, code: str | None) -> str:
    agency = await ctx.session.get(Agency, code) if code else None
    # A seeded agency's name is a catalog msgid; others are shown as written.
    return ctx.t._(agency.name) if agency is not None else (code or "")


async def own_question(ctx: Context, staff: Staff, ticket: str, action: str) -> Question | None:
    """The question of the ticket if it is in this official's inbox; otherwise a refusal, said
    and (when it belongs to another agency) logged."""
    _ = ctx.t._
    question = await store.by_ticket(ctx.session, ticket=ticket)
    if question is None or question.agency != staff.agency:
        log.warning(
            "refused inbox %s: staff %s acted on a question outside their agency",
            action[:8],
            staff.id,
        )
        ctx.notice = _("This question is not for your agency.")
        ctx.say(_("This question is not in your agency's inbox."), buttons=back(ctx))
        return None
    if question.status not in store.INBOX_STATUSES:
        ctx.notice = _("This question is not in your inbox any more.")
        ctx.say(
            _("#{ticket} is not in your inbox now: the facilitator has it.").format(
                ticket=question.ticket
            ),
            buttons=back(ctx),
        )
        return None
    return question


async def own_commitment(ctx: Context, staff: Staff, ident: int, action: str) -> Commitment | None:
    _ = ctx.t._
    commitment = await ctx.session.get(Commitment, ident)
    if commitment is None or commitment.agency != staff.agency:
        log.warning(
            "refused inbox %s: staff %s acted on a commitment outside their agency",
            action[:8],
            staff.id,
        )
        ctx.notice = _("This commitment is not your agency's.")
        ctx.say(_("This commitment is not your agency's."), buttons=back(ctx))
        return None
    return commitment


def commitment_lines(ctx: Context, commitment: Commitment) -> list[str]:
    lines = _lines(ctx.t, commitment)
    if commitment.status == "open" and commitment.due_on < ctx.today:
        lines[1] += " " + ctx.t._("⚠️ overdue")
    return lines


def draft(ctx: Context, step: str) -> str:
    """A button of the current draft: its step and the draft's nonce."""
    return btn.INBOX_DRAFT.build(step=step, nonce=ctx.state.data["nonce"])


def cancel_row(ctx: Context) -> list[Button]:
    return drafts.cancel_row(ctx, btn.INBOX_DRAFT)


def length_ok(ctx: Context, text: str, limits: tuple[int, int]) -> bool:
    return drafts.length_ok(ctx, text, limits, btn.INBOX_DRAFT)


def preview_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx.t._
    return [
        [Button(_("📢 Publish"), draft(ctx, "pub"))],
        [Button(_("✏️ Rewrite"), draft(ctx, "re"))],
        cancel_row(ctx),
    ]


def published(ctx: Context, count: int, what: str) -> None:
    ctx.say(
        what
        + "\n"
        + ctx.t.ngettext(
            "It was sent to {count} person who asked or follows the question.",
            "It was sent to {count} people who asked or follow the question.",
            count,
        ).format(count=count),
        buttons=back(ctx),
    )


async def question_of_draft(ctx: Context, staff: Staff) -> Question | None:
    """The draft's question, checked again: it may have been forwarded or reopened since."""
    question = await own_question(ctx, staff, ctx.state.data.get("ticket", ""), "publish")
    if question is None:
        ctx.clear_state()
    return question
