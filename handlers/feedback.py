""" "Hài lòng" / "Chưa hài lòng" on an answer or a commitment; a reason reopens the item.

Buttons "f:TICKET:ABOUT:y|n" come with every answer and commitment pushed back to askers and
followers (bot.services.pushback), ABOUT naming what is judged ("a12": answer 12, "c7.2":
commitment 7 in its version 2). Only the people the news went to may judge it, once each: the
asker, the askers of questions merged into it and its supporters, recognised by their account
or their keyed hash. "Chưa hài lòng" asks for a reason (common ones as buttons "f:…:r:N", or
typed in state "fb.reason"), then sends the question back to the facilitator (reopened).

Feedback is kept under the person's keyed hash and the day only; once given, the state that
held the ticket is cleared, so nothing is left that links the chat to the question.
"""

from __future__ import annotations

import logging

from bot.core import buttons as btn
from bot.core.i18n import N_
from bot.core.messages import Address, Button
from handlers.context import Context
from handlers.menu import show_menu
from storage import answers as store
from storage.accounts import find_account
from storage.links import household_of, links_of
from storage.models import Question

log = logging.getLogger(__name__)

REASONS = (
    N_("The answer does not address my question"),
    N_("The deadline is too long"),
    N_("I need more detail"),
)
REASON_MAX = 500


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """ "f:TICKET:ABOUT:y", "…:n", "…:r:N" (a common reason chosen), or "f:x" (never mind)."""
    if pressed.format is btn.FEEDBACK_CANCEL:
        if ctx.state.name.startswith("fb."):
            ctx.clear_state()
        show_menu(ctx, ctx.t._("Cancelled. Nothing was sent."))
        return
    if pressed.format is btn.FEEDBACK:
        ticket, about, choice = pressed["ticket"], pressed["about"], pressed["choice"]
        reason = None
    elif pressed.format is btn.FEEDBACK_REASON and pressed["reason"] < len(REASONS):
        ticket, about, choice = pressed["ticket"], pressed["about"], "r"
        reason = ctx.t._(REASONS[pressed["reason"]])
    else:
        _stale(ctx)
        return
    question = await _judged(ctx, ticket, about)
    if question is None:
        return
    if choice == "y":
        await _give(ctx, question, about, satisfied=True)
    elif choice == "n":
        _ask_reason(ctx, question, about)
    else:
        assert reason is not None
        await _give(ctx, question, about, satisfied=False, reason=reason)


async def on_text(ctx: Context) -> None:
    """The reason typed for "Chưa hài lòng"."""
    _ = ctx.t._
    reason = ctx.incoming.text.strip()
    ticket, about = ctx.state.data.get("ticket", ""), ctx.state.data.get("about", "")
    if not reason or len(reason) > REASON_MAX:
        ctx.say(
            _("Please write your reason in at most {high} characters.").format(high=REASON_MAX),
            buttons=_reason_buttons(ctx, ticket, about),
        )
        return
    question = await _judged(ctx, ticket, about)
    if question is None:
        ctx.clear_state()
        return
    await _give(ctx, question, about, satisfied=False, reason=reason)


def _stale(ctx: Context) -> None:
    ctx.notice = ctx.t._("This button is out of date.")
    show_menu(ctx, ctx.t._("That button is from an earlier message. What would you like to do?"))


def _giver(ctx: Context) -> str:
    assert ctx.account is not None
    return ctx.sealer.asker_hash(ctx.account.asker_salt, ctx.address)


async def _household_chats(ctx: Context) -> tuple[list[int], list[str]]:
    """The accounts and keyed hashes of this chat and of the other chats of its household: an
    answer re-routed to the household's other chat can be judged from there."""
    assert ctx.account is not None
    account_ids, hashes = [ctx.account.id], [_giver(ctx)]
    household = await household_of(
        ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id
    )
    if household is None:
        return account_ids, hashes
    for other in await links_of(ctx.session, household_id=household.id):
        address = Address(other.channel, other.user_id)
        if address == ctx.address:
            continue
        account = await find_account(ctx.session, channel=other.channel, user_id=other.user_id)
        if account is not None:
            account_ids.append(account.id)
            hashes.append(ctx.sealer.asker_hash(account.asker_salt, address))
    return account_ids, hashes


async def _judged(ctx: Context, ticket: str, about: str) -> Question | None:
    """The question, if `about` is one of its answers or commitments and this person may judge
    it and has not yet; otherwise say why not."""
    _ = ctx.t._
    assert ctx.account is not None
    question = await store.by_ticket(ctx.session, ticket=ticket)
    if question is None or not await store.about_exists(
        ctx.session, question=question, about=about
    ):
        _stale(ctx)
        return None
    giver = _giver(ctx)
    account_ids, hashes = await _household_chats(ctx)
    if not await store.concerns(
        ctx.session, question=question, account_ids=account_ids, person_hashes=hashes
    ):
        log.warning("refused feedback: account %s neither asked nor follows", ctx.account.id)
        ctx.notice = _("This is for the asker and followers only.")
        ctx.say(_("Only the people who asked or follow this question can give feedback on it."))
        return None
    if await store.feedback_exists(
        ctx.session, question_id=question.id, about=about, giver_hash=giver
    ):
        if ctx.state.name.startswith("fb."):
            ctx.clear_state()
        ctx.notice = _("You have already answered this.")
        ctx.say(_("You have already answered this. Thank you."))
        return None
    return question


def _reason_buttons(ctx: Context, ticket: str, about: str) -> list[list[Button]]:
    rows = [
        [
            Button(
                ctx.t._(reason),
                btn.FEEDBACK_REASON.build(ticket=ticket, about=about, reason=index),
            )
        ]
        for index, reason in enumerate(REASONS)
    ]
    rows.append([Button(ctx.t._("❌ Cancel"), btn.FEEDBACK_CANCEL.build())])
    return rows


def _ask_reason(ctx: Context, question: Question, about: str) -> None:
    ctx.state.name, ctx.state.data = "fb.reason", {"ticket": question.ticket, "about": about}
    ctx.say(
        ctx.t._(
            "We are sorry. What is missing? Choose a reason or type it in a few words; the "
            "facilitator will look at your question #{ticket} again."
        ).format(ticket=question.ticket),
        buttons=_reason_buttons(ctx, question.ticket, about),
    )


async def _give(
    ctx: Context, question: Question, about: str, *, satisfied: bool, reason: str = ""
) -> None:
    _ = ctx.t._
    await store.give_feedback(
        ctx.session,
        question=question,
        about=about,
        giver_hash=_giver(ctx),
        satisfied=satisfied,
        reason=reason,
        today=ctx.today,
    )
    if ctx.state.name.startswith("fb."):
        ctx.clear_state()
    if satisfied:
        ctx.notice = _("Thank you!")
        ctx.say(_("Thank you for telling us. We are glad the answer helps."))
    else:
        ctx.notice = _("Thank you!")
        ctx.say(
            _(
                "Thank you. Your question #{ticket} goes back to the facilitator, who will look "
                "at it again with the agency."
            ).format(ticket=question.ticket)
        )
