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

import logging
from collections.abc import Callable
from datetime import timedelta

from bot import buttons as btn
from bot import transcriber
from bot.core.lifecycles import QuestionStatus
from bot.i18n import N_, Translator
from bot.messages import Button, Reply
from handlers.ask import MAX_LENGTH, MIN_LENGTH, dialogue_title
from handlers.context import Context
from handlers.pushback import excerpt, tell
from handlers.roles import require
from storage import moderation as mod
from storage import voice
from storage.models import Account, Dialogue, Question, Staff
from storage.staff import find_agency, list_agencies
from storage.topics import TOPICS

log = logging.getLogger(__name__)

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
STATUS_NAMES = {
    QuestionStatus.APPROVED: N_("approved"),
    QuestionStatus.REJECTED: N_("not accepted"),
    QuestionStatus.MERGED: N_("joined to another question"),
    QuestionStatus.ANSWERED: N_("answered"),
    QuestionStatus.COMMITTED: N_("commitment made"),
    QuestionStatus.FULFILLED: N_("commitment fulfilled"),
}
MIN_REASON, MAX_REASON = 5, 300
SHOWN_TO_MERGE = 8


async def queue(ctx: Context) -> None:
    """/duyet: the first question waiting."""
    staff = await require(ctx, "facilitator", "moderate")
    if staff is None:
        return
    _leave_typing(ctx)
    await _show_next(ctx, staff)


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """s:…: one step of moderation (see the table above)."""
    action = pressed.get("step") or ACTION_OF.get(pressed.format, "q")
    staff = await require(ctx, "facilitator", f"moderation button {action[:4]!r}")
    if staff is None:
        return
    if action not in ("rt", "mt"):
        _leave_typing(ctx)
    if pressed.format is btn.MODERATE:
        await _show_next(ctx, staff)
        return
    ticket = pressed["ticket"]
    rest = [value for name, value in pressed.values if name not in ("step", "ticket")]
    if action == "k":
        await _skip(ctx, staff, ticket)
        return
    question = await _waiting_question(ctx, staff, ticket, action)
    if question is None:
        return
    if action in ("a", "m", "mm", "mt") and await voice.voice_of(
        ctx.session, question_id=question.id
    ):
        ctx.notice = ctx.t._("Please write it down first.")
        await _show_card(ctx, staff, question)
        return
    step = STEPS.get(action)
    if step is None:
        ctx.notice = ctx.t._("This button is out of date.")
        await _show_card(ctx, staff, question)
        return
    await step(ctx, staff, question, rest)


async def on_text(ctx: Context) -> None:
    """A typed reason for a rejection (mod.reason), or the ticket to merge into (mod.merge)."""
    staff = await require(ctx, "facilitator", f"moderation text {ctx.state.name}")
    if staff is None:
        ctx.clear_state()
        return
    name, ticket = ctx.state.name, str(ctx.state.data.get("ticket", ""))
    question = await _waiting_question(ctx, staff, ticket, name)
    if question is None:
        ctx.clear_state()
        return
    text = " ".join(ctx.incoming.text.split())
    if name == "mod.reason":
        await _typed_reason(ctx, staff, question, text)
    elif name == "mod.merge":
        await _typed_ticket(ctx, staff, question, text)
    elif name == "mod.write":
        await _typed_transcript(ctx, staff, question, text)
    else:
        ctx.clear_state()
        await _show_card(ctx, staff, question)


# The card


def _leave_typing(ctx: Context) -> None:
    if ctx.state.name.startswith("mod."):
        ctx.clear_state()


def _key(question: Question) -> tuple:
    return (question.submitted_on, question.ticket)


async def _show_next(ctx: Context, staff: Staff, after: Question | None = None) -> None:
    """The next card after `after` (the first from the start when none is after it)."""
    waiting = await mod.waiting(ctx.session, ward=staff.ward)
    if not waiting:
        ctx.say(ctx.t._("No questions waiting. Thank you!"), title=ctx.t._("Moderation"))
        return
    later = [q for q in waiting if after is not None and _key(q) > _key(after)]
    await _show_card(
        ctx, staff, later[0] if later else waiting[0], waiting=len(waiting), with_voice=True
    )


async def _show_card(
    ctx: Context,
    staff: Staff,
    question: Question,
    *,
    waiting: int | None = None,
    with_voice: bool = False,
) -> None:
    """One question as the facilitator decides on it; an anonymous asker shows as such only."""
    _ = ctx.t._
    t = ctx.t
    if waiting is None:
        waiting = len(await mod.waiting(ctx.session, ward=staff.ward))
    dialogue = await ctx.session.get(Dialogue, question.dialogue_id)
    assert dialogue is not None
    asker = _("Anonymous asker")
    if not question.anonymous and question.account_id is not None:
        account = await ctx.session.get(Account, question.account_id)
        asker = (account.display_name if account else "") or _("Named asker")
    lines = [
        t.ngettext("{count} question waiting", "{count} questions waiting", waiting).format(
            count=waiting
        ),
        "",
        _("🏛 Dialogue: {title}").format(title=dialogue_title(ctx, dialogue)),
        _("🏷 Topic: {topic}").format(topic=_topic_name(t, question.topic)),
        _("🏢 Agency: {agency}").format(agency=await _agency_name(ctx, question.agency)),
        _("👤 {asker} · {day}").format(asker=asker, day=t.date(question.submitted_on)),
        t.ngettext(
            "👥 {count} person asks this too", "👥 {count} people ask this too", question.supporters
        ).format(count=question.supporters),
    ]
    if question.sensitive:
        lines.append(_("⚠️ Marked sensitive: never shown in public."))
    if question.status == QuestionStatus.REOPENED:
        lines.append(
            _("🔁 Reopened, not satisfied: {reason}").format(reason=question.reopen_reason or "–")
        )
    T = question.ticket
    note = await voice.voice_of(ctx.session, question_id=question.id)
    if note is not None:
        await _voice_card(ctx, question, note, lines, with_voice=with_voice)
        return
    lines += ["", f"“{question.text}”"]

    def step(name: str) -> str:
        return btn.MODERATION.build(step=name, ticket=T)

    sensitive = _("⚠️ Sensitive ✔ (press to undo)") if question.sensitive else _("⚠️ Mark sensitive")
    ctx.say(
        "\n".join(lines),
        title=_("Question #{ticket}").format(ticket=T),
        buttons=[
            [Button(_("✅ Approve"), step("a")), Button(_("❌ Reject"), step("r"))],
            [Button(_("🔗 Merge"), step("m")), Button(_("⏭ Skip"), step("k"))],
            [Button(_("🏷 Change topic"), step("t")), Button(_("🏛 Change agency"), step("g"))],
            [Button(sensitive, step("x"))],
        ],
    )


async def _voice_card(
    ctx: Context, question: Question, note, lines: list[str], *, with_voice: bool
) -> None:
    """A question asked by voice: its recording (on the channel it came by), and "write it
    down"; it cannot be approved or merged before it is text."""
    _ = ctx.t._
    T = question.ticket
    playable = note.channel == ctx.address.channel == "telegram"
    if with_voice and playable:
        ctx.replies.append(
            Reply(
                text="", title=_("Voice question #{ticket}").format(ticket=T), voice=note.file_ref
            )
        )
    lines += [
        "",
        _("🎙 Asked by voice ({seconds} seconds), not written down yet.").format(
            seconds=note.seconds
        )
        if note.seconds
        else _("🎙 Asked by voice, not written down yet."),
    ]
    if note.channel == "zalo":
        # Zalo keeps the audio at an address: opened from any chat, never sent to officials.
        lines.append(_("Listen to it here: {url}").format(url=note.file_ref))
    elif not playable:
        lines.append(
            _("The recording can only be played in the chat it came by ({channel}).").format(
                channel=note.channel
            )
        )
    draft = await transcriber.load(ctx.policy.transcriber).transcribe(
        channel=note.channel, file_ref=note.file_ref, locale=ctx.t.locale
    )
    if draft:
        lines += ["", _("A draft by the speech model, to check:"), f"“{draft[:1000]}”"]
    lines += ["", _("Listen to it, then press “Write it down” and type what the person asks.")]
    ctx.say(
        "\n".join(lines),
        title=_("Question #{ticket}").format(ticket=T),
        buttons=[
            [Button(_("✍️ Write it down"), btn.MODERATION_VOICE.build(choice="w", ticket=T))],
            [Button(_("🔁 Listen again"), btn.MODERATION_VOICE.build(choice="l", ticket=T))],
            [
                Button(_("❌ Reject"), btn.MODERATION.build(step="r", ticket=T)),
                Button(_("⏭ Skip"), btn.MODERATION.build(step="k", ticket=T)),
            ],
        ],
    )


async def _voice_step(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    if await voice.voice_of(ctx.session, question_id=question.id) is None:
        ctx.notice = ctx.t._("This button is out of date.")
        await _show_card(ctx, staff, question)
        return
    if rest != ["w"]:
        await _show_card(ctx, staff, question, with_voice=True)
        return
    ctx.state.name, ctx.state.data = "mod.write", {"ticket": question.ticket}
    ctx.say(
        ctx.t._(
            "Please type the question as the person asks it, in one message ({min} to {max} "
            "characters). It becomes the question's text, and the recording is then deleted."
        ).format(min=MIN_LENGTH, max=MAX_LENGTH),
        buttons=[_back(ctx, question)],
    )


async def _typed_transcript(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        ctx.say(
            ctx.t._(
                "The question should be {min} to {max} characters. Please type it again."
            ).format(min=MIN_LENGTH, max=MAX_LENGTH),
            buttons=[_back(ctx, question)],
        )
        return
    ctx.clear_state()
    if not await voice.write_down(ctx.session, question=question, text=text):
        ctx.say(ctx.t._("This question has already been written down."))
    else:
        log.info("staff %s wrote down a voice question", staff.id)
        ctx.notice = ctx.t._("Written down")
        ctx.say(
            ctx.t._(
                "Question #{ticket} is written down; its recording is deleted. Now decide on it."
            ).format(ticket=question.ticket)
        )
    await _show_card(ctx, staff, question)


def _topic_name(t: Translator, code: str) -> str:
    return t._(TOPICS[code].name) if code in TOPICS else code


async def _agency_name(ctx: Context, code: str) -> str:
    # A seeded agency's name is a catalog msgid; one added later is shown as written.
    agency = await find_agency(ctx.session, code=code)
    return ctx.t._(agency.name) if agency is not None else code


def _back(ctx: Context, question: Question) -> list[Button]:
    return [
        Button(
            ctx.t._("↩️ Back to the question"),
            btn.MODERATION.build(step="c", ticket=question.ticket),
        )
    ]


async def _waiting_question(
    ctx: Context, staff: Staff, ticket: str, action: str
) -> Question | None:
    """The question of `ticket` if this facilitator may still decide on it; otherwise the
    reason is said (and, for another ward's question, logged)."""
    _ = ctx.t._
    question = await mod.find_by_ticket(ctx.session, ticket=ticket[:12], lock=True)
    dialogue = (
        await ctx.session.get(Dialogue, question.dialogue_id) if question is not None else None
    )
    if question is None or dialogue is None:
        ctx.notice = _("This button is out of date.")
        ctx.say(_("There is no question #{ticket}.").format(ticket=ticket[:12]))
        await _show_next(ctx, staff)
        return None
    if not mod.in_ward(dialogue, staff.ward):
        log.warning(
            "refused moderation %s: staff %s, question of a dialogue outside their ward",
            action[:16],
            staff.id,
        )
        ctx.notice = _("Not your ward.")
        ctx.say(_("This question belongs to a dialogue of another ward."))
        return None
    if question.status not in mod.WAITING:
        status = STATUS_NAMES.get(question.status)
        ctx.notice = _("Already moderated.")
        ctx.say(
            _("Question #{ticket} has already been moderated by a colleague: {status}.").format(
                ticket=question.ticket, status=_(status) if status else question.status
            )
        )
        await _show_next(ctx, staff, after=question)
        return None
    return question


async def _skip(ctx: Context, staff: Staff, ticket: str) -> None:
    question = await mod.find_by_ticket(ctx.session, ticket=ticket[:12])
    if question is None:
        await _show_next(ctx, staff)
        return
    waiting = await mod.waiting(ctx.session, ward=staff.ward)
    later = [q for q in waiting if _key(q) > _key(question)]
    if waiting and not later:
        ctx.say(ctx.t._("That was the last question: back to the first one waiting."))
    await _show_next(ctx, staff, after=question)


# The steps


async def _approve(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    due_on = None
    if question.status == QuestionStatus.REOPENED and question.due_on is not None:
        # Back to its agency after an answer that did not satisfy: a fresh time to answer.
        due_on = ctx.today + timedelta(days=ctx.policy.answer_days)
    await mod.approve(
        ctx.session, question=question, staff_id=staff.id, on=ctx.today, due_on=due_on
    )
    log.info("staff %s approved a question", staff.id)  # no ticket: logs name no question
    ctx.notice = ctx.t._("✅ Approved")
    ctx.say(
        ctx.t._("Question #{ticket} is approved and goes to {agency}.").format(
            ticket=question.ticket, agency=await _agency_name(ctx, question.agency)
        )
    )
    await _show_next(ctx, staff, after=question)


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
            _back(ctx, question),
        ],
    )


async def _preset_reason(ctx: Context, staff: Staff, question: Question, rest: list[int]) -> None:
    if len(rest) != 1 or rest[0] >= len(REASONS):
        await _reasons(ctx, staff, question, [])
        return
    reason = REASONS[rest[0]]
    await _reject(ctx, staff, question, stored=ctx.t._(reason), told=lambda t: t._(reason))


async def _ask_reason(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    ctx.state.name, ctx.state.data = "mod.reason", {"ticket": question.ticket}
    ctx.say(
        ctx.t._(
            "Please type the reason in one message ({min} to {max} characters). The asker will "
            "read it: write it kindly."
        ).format(min=MIN_REASON, max=MAX_REASON),
        buttons=[_back(ctx, question)],
    )


async def _typed_reason(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    if not MIN_REASON <= len(text) <= MAX_REASON:
        ctx.say(
            ctx.t._("The reason should be {min} to {max} characters. Please type it again.").format(
                min=MIN_REASON, max=MAX_REASON
            ),
            buttons=[_back(ctx, question)],
        )
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
    await _tell(ctx, question, f"rejected:{question.id}", build)
    log.info("staff %s rejected a question", staff.id)
    ctx.notice = ctx.t._("❌ Not accepted")
    ctx.say(
        ctx.t._("Question #{ticket} is not accepted; the asker is told why.").format(
            ticket=question.ticket
        )
    )
    await _show_next(ctx, staff, after=question)


async def _tell(
    ctx: Context, question: Question, event: str, build: Callable[[Translator], Reply]
) -> None:
    await tell(
        ctx.session,
        question_id=question.id,
        event=event,
        build=build,
        sealer=ctx.sealer,
        now=ctx.now,
        zone=ctx.zone,
        default_locale=ctx.default_locale,
        followers=False,
    )


async def _merge_choices(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    _ = ctx.t._
    T = question.ticket
    choices = await mod.mergeable(ctx.session, question=question, limit=SHOWN_TO_MERGE)
    if not choices:
        ctx.say(
            _("There is no approved question in this dialogue to join #{ticket} to.").format(
                ticket=T
            ),
            buttons=[_back(ctx, question)],
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
            _back(ctx, question),
        ],
    )


async def _merge_into(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    if len(rest) != 1:
        await _merge_choices(ctx, staff, question, rest)
        return
    await _merge(ctx, staff, question, rest[0])


async def _ask_ticket(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    ctx.state.name, ctx.state.data = "mod.merge", {"ticket": question.ticket}
    ctx.say(
        ctx.t._(
            "Type the ticket of the question to join #{ticket} to (6 letters and digits)."
        ).format(ticket=question.ticket),
        buttons=[_back(ctx, question)],
    )


async def _typed_ticket(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    if await _merge(ctx, staff, question, text.lstrip("#").strip()[:12]):
        ctx.clear_state()


async def _merge(ctx: Context, staff: Staff, duplicate: Question, ticket: str) -> bool:
    """Join `duplicate` to the approved question of `ticket`; both askers are told."""
    _ = ctx.t._
    kept = await mod.find_by_ticket(ctx.session, ticket=ticket, lock=True)
    if (
        kept is None
        or kept.id == duplicate.id
        or kept.dialogue_id != duplicate.dialogue_id
        or kept.status != QuestionStatus.APPROVED
    ):
        ctx.say(
            _(
                "#{ticket} is not an approved question of the same dialogue. Type another "
                "ticket, or go back."
            ).format(ticket=ticket.upper()),
            buttons=[_back(ctx, duplicate)],
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
    await _tell(ctx, kept, f"joined:{kept.id}:{duplicate.id}", to_kept)
    await _tell(ctx, duplicate, f"merged:{duplicate.id}", to_duplicate)
    await mod.merge(ctx.session, duplicate=duplicate, kept=kept, staff_id=staff.id, on=ctx.today)
    log.info("staff %s merged two questions", staff.id)
    ctx.notice = _("🔗 Merged")
    ctx.say(
        _("Question #{ticket} is joined to #{kept}; both askers are told.").format(
            ticket=duplicate.ticket, kept=kept.ticket
        )
    )
    await _show_next(ctx, staff, after=duplicate)
    return True


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
            _back(ctx, question),
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
    await _show_card(ctx, staff, question)


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
            _back(ctx, question),
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
    await _show_card(ctx, staff, question)


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
    await _show_card(ctx, staff, question)


async def _card(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    await _show_card(ctx, staff, question)


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
    "m": _merge_choices,
    "mm": _merge_into,
    "mt": _ask_ticket,
    "t": _topics,
    "tt": _set_topic,
    "g": _agencies,
    "gg": _set_agency,
    "x": _toggle_sensitive,
    "c": _card,
    "v": _voice_step,
}
