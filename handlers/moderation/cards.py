"""A question's card in the moderation queue, the voice question written down, and the checks
that the facilitator may still decide on a question."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core import buttons as btn
from bot.core import transcriber
from bot.core.i18n import N_, Translator
from bot.core.messages import Button, Reply
from bot.services.pushback import PushBack
from handlers.ask import MAX_LENGTH, MIN_LENGTH, dialogue_title
from handlers.context import Context
from storage import moderation as mod
from storage import voice
from storage.models import Account, Dialogue, Question, Staff
from storage.staff import find_agency
from storage.topics import TOPICS

# Refusals are logged under the flow's name, whichever module refuses.
log = logging.getLogger("handlers.moderation")


STATUS_NAMES = {
    "approved": N_("approved"),
    "rejected": N_("not accepted"),
    "merged": N_("joined to another question"),
    "answered": N_("answered"),
    "committed": N_("commitment made"),
    "fulfilled": N_("commitment fulfilled"),
}


def leave_typing(ctx: Context) -> None:
    if ctx.state.name.startswith("mod."):
        ctx.clear_state()


def key(question: Question) -> tuple:
    return (question.submitted_on, question.ticket)


async def show_next(ctx: Context, staff: Staff, after: Question | None = None) -> None:
    """The next card after `after` (the first from the start when none is after it)."""
    waiting = await mod.waiting(ctx.session, ward=staff.ward)
    if not waiting:
        ctx.say(ctx.t._("No questions waiting. Thank you!"), title=ctx.t._("Moderation"))
        return
    later = [q for q in waiting if after is not None and key(q) > key(after)]
    await show_card(
        ctx, staff, later[0] if later else waiting[0], waiting=len(waiting), with_voice=True
    )


async def show_card(
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
        _("🏷 Topic: {topic}").format(topic=topic_name(t, question.topic)),
        _("🏢 Agency: {agency}").format(agency=await agency_name(ctx, question.agency)),
        _("👤 {asker} · {day}").format(asker=asker, day=t.date(question.submitted_on)),
        t.ngettext(
            "👥 {count} person asks this too", "👥 {count} people ask this too", question.supporters
        ).format(count=question.supporters),
    ]
    if question.sensitive:
        lines.append(_("⚠️ Marked sensitive: never shown in public."))
    if question.status == "reopened":
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


def ask_typed(ctx: Context, question: Question, state: str, prompt: str) -> None:
    """Wait for a text typed about the question (in state `state`), with the way back."""
    ctx.state.name, ctx.state.data = state, {"ticket": question.ticket}
    ctx.say(prompt, buttons=[back(ctx, question)])


def fits(
    ctx: Context, question: Question, text: str, limits: tuple[int, int], refusal: str
) -> bool:
    """Whether a typed text is within the limits; if not, the refusal ({min}, {max}) is said."""
    low, high = limits
    if low <= len(text) <= high:
        return True
    ctx.say(refusal.format(min=low, max=high), buttons=[back(ctx, question)])
    return False


async def voice_step(ctx: Context, staff: Staff, question: Question, rest: list[str]) -> None:
    if await voice.voice_of(ctx.session, question_id=question.id) is None:
        ctx.notice = ctx.t._("This button is out of date.")
        await show_card(ctx, staff, question)
        return
    if rest != ["w"]:
        await show_card(ctx, staff, question, with_voice=True)
        return
    ask_typed(
        ctx,
        question,
        "mod.write",
        ctx.t._(
            "Please type the question as the person asks it, in one message ({min} to {max} "
            "characters). It becomes the question's text, and the recording is then deleted."
        ).format(min=MIN_LENGTH, max=MAX_LENGTH),
    )


async def typed_transcript(ctx: Context, staff: Staff, question: Question, text: str) -> None:
    refusal = ctx.t._("The question should be {min} to {max} characters. Please type it again.")
    if not fits(ctx, question, text, (MIN_LENGTH, MAX_LENGTH), refusal):
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
    await show_card(ctx, staff, question)


def topic_name(t: Translator, code: str) -> str:
    return t._(TOPICS[code].name) if code in TOPICS else code


async def agency_name(ctx: Context, code: str) -> str:
    # A seeded agency's name is a catalog msgid; one added later is shown as written.
    agency = await find_agency(ctx.session, code=code)
    return ctx.t._(agency.name) if agency is not None else code


def back(ctx: Context, question: Question) -> list[Button]:
    return [
        Button(
            ctx.t._("↩️ Back to the question"),
            btn.MODERATION.build(step="c", ticket=question.ticket),
        )
    ]


async def waiting_question(ctx: Context, staff: Staff, ticket: str, action: str) -> Question | None:
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
        await show_next(ctx, staff)
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
        await show_next(ctx, staff, after=question)
        return None
    return question


async def skip(ctx: Context, staff: Staff, ticket: str) -> None:
    question = await mod.find_by_ticket(ctx.session, ticket=ticket[:12])
    if question is None:
        await show_next(ctx, staff)
        return
    waiting = await mod.waiting(ctx.session, ward=staff.ward)
    later = [q for q in waiting if key(q) > key(question)]
    if waiting and not later:
        ctx.say(ctx.t._("That was the last question: back to the first one waiting."))
    await show_next(ctx, staff, after=question)


async def tell_askers(
    ctx: Context, question: Question, event: str, build: Callable[[Translator], Reply]
) -> None:
    await PushBack(ctx.notifier).tell(
        ctx.session,
        question_id=question.id,
        event=event,
        build=build,
        now=ctx.now,
        followers=False,
    )
