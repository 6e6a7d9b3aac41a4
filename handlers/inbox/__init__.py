"""An official's inbox (/hopthu): answer, commit, forward, mark answered at the dialogue, and
follow up the agency's commitments.

The inbox lists the agency's approved questions and those already dealt with: the ones still
waiting for an answer first (that is the work to do), then within each group the most
supported first, then the oldest. Reopened questions are back with the facilitator.

| state          | waits for                                  | next                          |
|----------------|--------------------------------------------|-------------------------------|
| inbox.answer   | the answer typed; then publish / rewrite   | published, or typed again     |
| inbox.commit   | what (typed) -> deadline (buttons or       | published                     |
|                | dd/mm/yyyy) -> who (button or typed) ->    |                               |
|                | publish / rewrite                          |                               |
| inbox.forward  | a note typed, or Skip                      | forwarded                     |
| inbox.room     | a short summary typed, or Skip             | marked answered at dialogue   |
| inbox.progress | the progress typed; then publish / rewrite | published                     |

One module per sub-flow: cards (the inbox and a question's card), answer, commitment (the
shared commitment draft in the inbox's words), forward, in_room, ours (our commitments, their
progress and fulfilment); common holds what they share.

Buttons are "o:…" and carry tickets and ids only; the steps of a draft carry its nonce, so a
button of an earlier draft is recognised as stale. Every command, button and text checks the
official's role on the server, and every action checks that the question or commitment belongs
to the official's agency: a replayed button of another agency is refused and logged.
"""

from __future__ import annotations

from bot.core import buttons as btn
from handlers.context import Context
from handlers.drafts import current
from handlers.inbox import answer, commitment, forward, in_room, ours
from handlers.inbox.cards import card, inbox_page
from handlers.inbox.common import PREFIX, back, own_commitment, own_question, stale
from handlers.roles import require, require_pressing
from storage.models import Commitment, Staff

# Entry points


async def show(ctx: Context) -> None:
    """/hopthu: the first page of the agency's inbox; a draft left open is dropped."""
    staff = await require(ctx, "official", "inbox")
    if staff is None:
        return
    if ctx.state.name.startswith(PREFIX):
        ctx.clear_state()
    await inbox_page(ctx, staff, 0)


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """ "o:…" buttons: the inbox, a card, the actions on it, the steps of a draft."""
    pressing = await require_pressing(ctx, pressed, "official", "inbox", ACTION_OF)
    if pressing is None:
        return
    staff, action = pressing
    form = pressed.format
    if form is btn.INBOX:
        await inbox_page(ctx, staff, pressed.get("page", 0))
    elif form in (btn.INBOX_QUESTION, btn.INBOX_FORWARD):
        question = await own_question(ctx, staff, pressed["ticket"], action)
        if question is not None and form is btn.INBOX_FORWARD:
            await forward.forward_to(ctx, staff, question, pressed["agency"])
        elif question is not None:
            await QUESTION_ACTIONS[action](ctx, staff, question)
    elif form in (btn.COMMITMENTS, btn.COMMITMENTS_PAGE):
        await ours.commitments_page(ctx, staff, pressed.get("page", 0))
    elif form is btn.COMMITMENT:
        found = await own_commitment(ctx, staff, pressed["commitment"], action)
        if found is not None:
            await COMMITMENT_ACTIONS[action](ctx, staff, found)
    elif action in DRAFT_ACTIONS and current(ctx, PREFIX, pressed["nonce"]):
        await DRAFT_ACTIONS[action](ctx, staff, pressed)
    else:
        stale(ctx)


async def on_text(ctx: Context) -> None:
    """Typed text in a draft: the answer, the commitment's parts, a note, a summary."""
    staff = await require(ctx, "official", "inbox text")
    if staff is None:
        ctx.clear_state()
        return
    handler = TEXT_STEPS.get(ctx.state.name)
    if handler is None:
        ctx.clear_state()
        await inbox_page(ctx, staff, 0)
        return
    await handler(ctx, staff, ctx.incoming.text.strip())


# Steps of a draft


async def _publish(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    name = ctx.state.name
    if name == "inbox.answer" and "text" in ctx.state.data:
        await answer.publish(ctx, staff)
    elif name == "inbox.commit":
        await commitment.publish(ctx, staff)
    elif name == "inbox.progress" and "text" in ctx.state.data:
        await ours.publish_progress(ctx, staff)
    else:
        stale(ctx)


async def _rewrite(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    name = ctx.state.name
    ctx.state.data.pop("text", None)
    if name == "inbox.answer":
        answer.ask_answer(ctx)
    elif name == "inbox.commit":
        await commitment.FLOW.start_content(ctx, staff)
    elif name == "inbox.progress":
        written = await ctx.session.get(Commitment, ctx.state.data["commitment"])
        assert written is not None
        await ours.start_progress(ctx, staff, written)
    else:
        stale(ctx)


async def _cancel(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    ctx.clear_state()
    ctx.say(ctx.t._("Cancelled. Nothing was published."), buttons=back(ctx))


async def _skip(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    if ctx.state.name == "inbox.forward":
        await forward.do_forward(ctx, staff, "")
    elif ctx.state.name == "inbox.room":
        await in_room.do_in_room(ctx, staff, "")
    else:
        stale(ctx)


QUESTION_ACTIONS = {
    "q": card,
    "a": answer.start_answer,
    "c": commitment.start_commitment,
    "w": forward.choose_agency,
    "r": in_room.start_in_room,
}
COMMITMENT_ACTIONS = {
    "k": ours.commitment_card,
    "kp": ours.start_progress,
    "kf": ours.fulfil,
}
DRAFT_ACTIONS = {
    "pub": _publish,
    "re": _rewrite,
    "x": _cancel,
    "d": commitment.deadline_chosen,
    "ra": commitment.responsible_is_agency,
    "sk": _skip,
}
# The step of the formats that carry no "step" field.
ACTION_OF = {
    btn.INBOX: "i",
    btn.INBOX_FORWARD: "wt",
    btn.COMMITMENTS: "k",
    btn.COMMITMENTS_PAGE: "kl",
    btn.INBOX_DEADLINE: "d",
    btn.INBOX_OTHER_DATE: "d",
}
TEXT_STEPS = {
    "inbox.answer": answer.answer_typed,
    "inbox.commit": commitment.commitment_typed,
    "inbox.forward": forward.forward_note,
    "inbox.room": in_room.summary_typed,
    "inbox.progress": ours.progress_typed,
}
