"""The facilitator's moderation queue (/duyet): approve, reject, merge, re-topic, mark sensitive.

One card at a time, oldest first: the questions of the dialogues of the facilitator's ward and
of the general intake. Every command, button and typed answer checks the role again
(handlers.roles.require) and that the question is in the facilitator's ward: button data can
be replayed by anyone. Buttons carry the question's ticket, never its text.

| data                | does                                               |
|---------------------|----------------------------------------------------|
| s:q                 | the first card                                     |
| s:a:T               | approve: the question goes to its agency           |
| s:r:T               | reject: the reasons to choose from                 |
| s:rr:T:N            | reject with preset reason N                        |
| s:rt:T              | reject with a typed reason (state mod.reason)      |
| s:m:T               | merge: the approved questions to join it to        |
| s:mm:T:K            | merge T into K                                     |
| s:mt:T              | merge into a typed ticket (state mod.merge)        |
| s:t:T / s:tt:T:C    | topics / change to topic C (and its agency)        |
| s:g:T / s:gg:T:C    | agencies / change to agency C                      |
| s:x:T               | mark sensitive, or not any more                    |
| s:k:T               | skip to the next card                              |
| s:c:T               | back to the card                                   |
| s:v:l:T             | a voice question: listen to it again               |
| s:v:w:T             | a voice question: write it down (state mod.write)  |

A question asked by voice comes with its recording (sent again by its Telegram file id) and
can only be rejected, skipped or written down; once written down, the recording is forgotten
in the same transaction (storage.voice) and the card is an ordinary one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.core import buttons as btn
from bot.core.i18n import N_, Translator
from bot.core.messages import Button, Reply
from bot.services.pushback import excerpt
from handlers.context import Context
from handlers.moderation.cards import (
    agency_name,
    ask_typed,
    back,
    fits,
    leave_typing,
    log,
    show_card,
    show_next,
    skip,
    tell_askers,
    typed_transcript,
    voice_step,
    waiting_question,
)
from handlers.moderation.merge import ask_ticket, merge_choices, merge_into, typed_ticket
from handlers.roles import require
from storage import moderation as mod
from storage import voice
from storage.models import Question, Staff
from storage.staff import find_agency, list_agencies
from storage.topics import TOPICS

# Why a question is not taken to the dialogue: the presets offered as buttons, in this order.
REASONS = (
    N_("It is not about the subjects of this dialogue."),
    N_("It repeats a question already sent."),
    N_("It attacks a person or is offensive."),
    N_("It does not give enough detail to answer."),
)
REASON_LABELS = (
    N_("Not about this dialogue"),
    N_("A duplicate"),
    N_("Attacks a person / offensive"),
    N_("Not enough detail"),
)
MIN_REASON, MAX_REASON = 5, 300


async def queue(ctx: Context) -> None:
    """/duyet: the first question waiting."""
    staff = await require(ctx, "facilitator", "moderate")
    if staff is None:
        return
    leave_typing(ctx)
    await show_next(ctx, staff)


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """s:…: one step of moderation (see the table above)."""
    action = pressed.get("step") or ACTION_OF.get(pressed.format, "q")
    staff = await require(ctx, "facilitator", f"moderation button {action[:4]!r}")
    if staff is None:
        return
    if action not in ("rt", "mt"):
        leave_typing(ctx)
    if pressed.format is btn.MODERATE:
        await show_next(ctx, staff)
        return
    ticket = pressed["ticket"]
    rest = [value for name, value in pressed.values if name not in ("step", "ticket")]
    if action == "k":
        await skip(ctx, staff, ticket)
        return
    question = await waiting_question(ctx, staff, ticket, action)
    if question is None:
        return
    if action in ("a", "m", "mm", "mt") and await voice.voice_of(
        ctx.session, question_id=question.id
    ):
        ctx.notice = ctx.t._("Please write it down first.")
        await show_card(ctx, staff, question)
        return
    step = STEPS.get(action)
    if step is None:
        ctx.notice = ctx.t._("This button is out of date.")
        await show_card(ctx, staff, question)
        return
    await step(ctx, staff, question, rest)


async def on_text(ctx: Context) -> None:
    """A typed reason for a rejection (mod.reason), or the ticket to merge into (mod.merge)."""
    staff = await require(ctx, "facilitator", f"moderation text {ctx.state.name}")
    if staff is None:
        ctx.clear_state()
        return
    name, ticket = ctx.state.name, str(ctx.state.data.get("ticket", ""))
    question = await waiting_question(ctx, staff, ticket, name)
    if question is None:
        ctx.clear_state()
        return
    text = " ".join(ctx.incoming.text.split())
    if name == "mod.reason":
        await _typed_reason(ctx, staff, question, text)
    elif name == "mod.merge":
        await typed_ticket(ctx, staff, question, text)
    elif name == "mod.write":
        await typed_transcript(ctx, staff, question, text)
    else:
        ctx.clear_state()
        await show_card(ctx, staff, question)


# The card


# The steps


async def _approve(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    due_on = None
    if question.status == "reopened" and question.due_on is not None:
        # Back to its agency after an answer that did not satisfy: a fresh time to answer.
        due_on = ctx.today + timedelta(days=ctx.policy.answer_days)
    await mod.approve(
        ctx.session, question=question, staff_id=staff.id, on=ctx.today, due_on=due_on
    )
    log.info("staff %s approved a question", staff.id)  # no ticket: logs name no question
    ctx.notice = ctx.t._("✅ Approved")
    ctx.say(
        ctx.t._("Question #{ticket} is approved and goes to {agency}.").format(
            ticket=question.ticket, agency=await agency_name(ctx, question.agency)
        )
    )
    await show_next(ctx, staff, after=question)


async def _reasons(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    _ = ctx.t._
    T = question.ticket
    ctx.say(
        _("Why is question #{ticket} not accepted? The asker will be told, politely.").format(
            ticket=T
        ),
        buttons=[
            *[
                [Button(_(label), btn.MODERATION_REASON.build(ticket=T, reason=n))]
                for n, label in enumerate(REASON_LABELS)
            ],
            [Button(_("✍️ Write another reason"), btn.MODERATION.build(step="rt", ticket=T))],
            back(ctx, question),
        ],
    )


async def _preset_reason(ctx: Context, staff: Staff, question: Question, rest: list[int]) -> None:
    if len(rest) != 1 or rest[0] >= len(REASONS):
        await _reasons(ctx, staff, question, [])
        return
    reason = REASONS[rest[0]]
    await _reject(ctx, staff, question, stored=ctx.t._(reason), told=lambda t: t._(reason))


async def _ask_reason(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    ask_typed(
        ctx,
        question,
        "mod.reason",
        ctx.t._(
            "Please type the reason in one message ({min} to {max} characters). The asker will "
            "read it: write it kindly."
        ).format(min=MIN_REASON, max=MAX_REASON),
    )


async def _typed_reason(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    refusal = ctx.t._("The reason should be {min} to {max} characters. Please type it again.")
    if not fits(ctx, question, text, (MIN_REASON, MAX_REASON), refusal):
        return
    ctx.clear_state()
    await _reject(ctx, staff, question, stored=text, told=lambda t: text)


async def _reject(
    ctx: Context,
    staff: Staff,
    question: Question,
    *,
    stored: str,
    told: Callable[[Translator], str],
) -> None:
    """Reject, and tell the asker why in their language (anonymous ones through their handle)."""

    def build(t: Translator) -> Reply:
        return Reply(
            title=t._("About your question #{ticket}").format(ticket=question.ticket),
            text=t._(
                "Thank you for your question “{excerpt}”.\n\n"
                "The facilitator of the dialogue could not accept it, for this reason: "
                "{reason}\n\nYou are welcome to send another question with /hoi."
            ).format(excerpt=excerpt(question.text) or t._("your voice message"), reason=told(t)),
        )

    await mod.reject(ctx.session, question=question, reason=stored, staff_id=staff.id, on=ctx.today)
    await voice.forget(ctx.session, question_id=question.id)  # a voice question's recording
    await tell_askers(ctx, question, f"rejected:{question.id}", build)
    log.info("staff %s rejected a question", staff.id)
    ctx.notice = ctx.t._("❌ Not accepted")
    ctx.say(
        ctx.t._("Question #{ticket} is not accepted; the asker is told why.").format(
            ticket=question.ticket
        )
    )
    await show_next(ctx, staff, after=question)


async def _topics(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    T = question.ticket
    ctx.say(
        ctx.t._("Which topic is question #{ticket} about?").format(ticket=T),
        buttons=[
            *[
                [Button(ctx.t._(topic.name), btn.MODERATION_TOPIC.build(ticket=T, topic=code))]
                for code, topic in TOPICS.items()
                if code != question.topic
            ],
            back(ctx, question),
        ],
    )


async def _set_topic(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    if len(rest) != 1 or rest[0] not in TOPICS:
        await _topics(ctx, staff, question, rest)
        return
    topic = TOPICS[rest[0]]
    default = await find_agency(ctx.session, code=topic.agency)
    # The topic's agency answers by default; a disabled one leaves the question where it is.
    agency = topic.agency if default is not None and default.active else question.agency
    await mod.change_topic(
        ctx.session,
        question=question,
        topic=topic.code,
        agency=agency,
        staff_id=staff.id,
        on=ctx.today,
    )
    ctx.notice = ctx.t._("Topic changed")
    await show_card(ctx, staff, question)


async def _agencies(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    T = question.ticket
    agencies = [a for a in await list_agencies(ctx.session) if a.code != question.agency]
    ctx.say(
        ctx.t._("Which agency should answer question #{ticket}?").format(ticket=T),
        buttons=[
            *[
                [Button(ctx.t._(a.name), btn.MODERATION_AGENCY.build(ticket=T, agency=a.code))]
                for a in agencies
            ],
            back(ctx, question),
        ],
    )


async def _set_agency(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    agency = await find_agency(ctx.session, code=rest[0]) if len(rest) == 1 else None
    if agency is None or not agency.active:
        await _agencies(ctx, staff, question, rest)
        return
    await mod.change_agency(
        ctx.session, question=question, agency=agency.code, staff_id=staff.id, on=ctx.today
    )
    ctx.notice = ctx.t._("Agency changed")
    await show_card(ctx, staff, question)


async def _toggle_sensitive(
    ctx: Context, staff: Staff, question: Question, rest: list[str]
) -> None:
    await mod.set_sensitive(
        ctx.session,
        question=question,
        sensitive=not question.sensitive,
        staff_id=staff.id,
        on=ctx.today,
    )
    ctx.notice = (
        ctx.t._("Marked sensitive") if question.sensitive else ctx.t._("No longer sensitive")
    )
    await show_card(ctx, staff, question)


async def _card(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    await show_card(ctx, staff, question)


# The step of the formats that carry no "step" field.
ACTION_OF = {
    btn.MODERATE: "q",
    btn.MODERATION_REASON: "rr",
    btn.MODERATION_MERGE: "mm",
    btn.MODERATION_TOPIC: "tt",
    btn.MODERATION_AGENCY: "gg",
    btn.MODERATION_VOICE: "v",
}
STEPS = {
    "a": _approve,
    "r": _reasons,
    "rr": _preset_reason,
    "rt": _ask_reason,
    "m": merge_choices,
    "mm": merge_into,
    "mt": ask_ticket,
    "t": _topics,
    "tt": _set_topic,
    "g": _agencies,
    "gg": _set_agency,
    "x": _toggle_sensitive,
    "c": _card,
    "v": voice_step,
}
