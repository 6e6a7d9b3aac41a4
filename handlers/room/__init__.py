"""The facilitator at and after the dialogue: answered in the room, commitments made there, and
who came.

/buoidoithoai (button "g:r") opens the room of the facilitator's ward's dialogue, from the day
before it to 30 days after it. Every command, button and typed text checks the role and the
ward on the server side: a replayed button of another ward is refused.

| button                  | what it does                                                   |
|-------------------------|----------------------------------------------------------------|
| g:d:<dialogue>:<page>   | the dialogue's questions, the most supported first             |
| g:q:<ticket>            | a question's card                                              |
| g:i:<ticket>            | answered at the dialogue: a summary is typed (room.summary)    |
| g:is:<nonce>            | ... or skipped                                                 |
| g:c:<ticket>            | a commitment on the question: agency, content, deadline, who   |
| g:gc:<dialogue>         | a commitment of the dialogue, on no question                   |
| g:ca / g:cd / g:cr      | the commitment's agency, deadline, and "the agency" as who     |
| g:a:<dialogue>:<page>   | attendance: the households invited                             |
| g:at:<invitation>:<page>| one household present, or not                                  |
| g:x:<nonce>             | drop the draft                                                 |

| state          | waits for                                   | next                  |
|----------------|---------------------------------------------|-----------------------|
| room.summary   | the summary typed, or Skip                  | done                  |
| room.commit    | an agency button (step "agency"), then the  | done                  |
|                | shared commitment draft's steps: content,   |                       |
|                | deadline, responsible                       |                       |

One module per sub-flow: this one (the dialogue, a question, answered at the dialogue),
commitment (handlers/commitment_draft.py in the room's words), attendance; common holds what
they share.

Drafts live in the conversation state and go when they are finished, cancelled or /huy.
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import N_
from bot.core.messages import Button
from bot.services.pushback import PushBack
from handlers.context import Context
from handlers.drafts import begin, current
from handlers.roles import require, require_pressing
from handlers.room import attendance, commitment
from handlers.room.common import (
    PREFIX,
    allowed_dialogue,
    allowed_question,
    back,
    cancel_row,
    dialogues,
    page_nav,
    stale,
)
from handlers.support import excerpt
from storage import followup
from storage.models import Agency, Dialogue, Question, Staff
from storage.topics import TOPICS

PAGE = 8
SUMMARY_MAX = 1500


# Entry and access


async def show(ctx: Context) -> None:
    """/buoidoithoai: the room of the facilitator's ward's dialogue."""
    staff = await require(ctx, "facilitator", "room")
    if staff is not None:
        await _entry(ctx, staff)


async def _entry(ctx: Context, staff: Staff) -> None:
    _ = ctx.t._
    found = await dialogues(ctx, staff)
    if len(found) == 1:
        await _show_dialogue(ctx, found[0], 0)
    elif not found:
        ctx.say(
            _(
                "No dialogue of {ward} is open now. The room opens the day before a dialogue "
                "and stays open for 30 days after it."
            ).format(ward=staff.ward or "–"),
            title=_("At the dialogue"),
        )
    else:
        ctx.say(
            _("Which dialogue?"),
            title=_("At the dialogue"),
            buttons=[
                [
                    Button(
                        f"{d.title[:40]} – {ctx.t.short_date(d.starts_at)}",
                        btn.ROOM_DIALOGUE.build(step="d", dialogue=d.id, page=0),
                    )
                ]
                for d in found
                if d.starts_at is not None
            ],
        )


# The dialogue and its questions


STATUS_MARKS = {"approved": "⏳", "answered": "✅", "committed": "🤝"}


async def _show_dialogue(ctx: Context, dialogue: Dialogue, page: int) -> None:
    _ = ctx.t._
    questions = await followup.room_questions(ctx.session, dialogue_id=dialogue.id)
    pages = max(1, (len(questions) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    shown = questions[page * PAGE : (page + 1) * PAGE]
    assert dialogue.starts_at is not None
    lines = [
        _("{when} · {venue}").format(
            when=ctx.t.datetime(dialogue.starts_at), venue=dialogue.venue or "–"
        ),
        "",
    ]
    if not questions:
        lines.append(_("No approved questions for this dialogue yet."))
    else:
        lines.append(
            _("Questions, the most supported first (⏳ waiting, ✅ answered, 🤝 committed):")
        )
    rows: list[list[Button]] = []
    for question in shown:
        mark = "🏛" if question.answered_in_room else STATUS_MARKS.get(question.status, "")
        lines.append(
            f"{mark} #{question.ticket} · 👥{question.supporters} · {excerpt(question.text, 90)}"
        )
        rows.append(
            [
                Button(
                    f"{mark} #{question.ticket} · {excerpt(question.text, 30)}",
                    btn.ROOM_QUESTION.build(step="q", ticket=question.ticket),
                )
            ]
        )
    if pages > 1:
        lines += ["", _("Page {page} of {pages}").format(page=page + 1, pages=pages)]
        rows.append(page_nav(ctx, "d", dialogue, page, pages))
    rows.append([Button(_("➕ General commitment"), btn.ROOM_GENERAL.build(dialogue=dialogue.id))])
    rows.append(
        [
            Button(
                _("✅ Attendance"), btn.ROOM_DIALOGUE.build(step="a", dialogue=dialogue.id, page=0)
            )
        ]
    )
    ctx.say("\n".join(lines), title=dialogue.title, buttons=rows)


ROOM_STATUS = {
    "approved": N_("⏳ waiting for an answer"),
    "answered": N_("✅ answered"),
    "committed": N_("🤝 commitment made"),
}


async def _show_question(ctx: Context, question: Question, dialogue: Dialogue) -> None:
    _ = ctx.t._
    topic = _(TOPICS[question.topic].name) if question.topic in TOPICS else question.topic
    agency = await ctx.session.get(Agency, question.agency)
    # An anonymous asker is "Anonymous asker", the dialogue's wards and the day: nothing more.
    name = await followup.asker_name(ctx.session, question=question)
    asker = name if name else _("Anonymous asker")
    status = _(ROOM_STATUS.get(question.status, question.status))
    if question.answered_in_room:
        status = _("🏛 answered at the dialogue")
    lines = [
        f"{topic} · 👥{question.supporters}",
        f"{asker} · {', '.join(dialogue.wards) or '–'} · {ctx.t.short_date(question.submitted_on)}",
        _("Agency: {agency}").format(agency=_(agency.name) if agency else question.agency),
        _("Status: {status}").format(status=status),
    ]
    if question.sensitive:
        lines.append(_("🔒 Sensitive: not shown in public"))
    lines += ["", f"“{question.text}”"]
    rows = []
    if not question.answered_in_room:
        rows.append(
            [
                Button(
                    _("🏛 Answered at the dialogue"),
                    btn.ROOM_QUESTION.build(step="i", ticket=question.ticket),
                )
            ]
        )
    rows.append(
        [
            Button(
                _("🤝 Record a commitment"),
                btn.ROOM_QUESTION.build(step="c", ticket=question.ticket),
            )
        ]
    )
    rows.append(back(ctx, dialogue.id))
    ctx.say("\n".join(lines), title=f"#{question.ticket}", buttons=rows)


# Buttons and text


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """Every g:… button; the role and the ward are checked first, whatever the data says."""
    pressing = await require_pressing(ctx, pressed, "facilitator", "room", ACTION_OF)
    if pressing is None:
        return
    staff, action = pressing
    if pressed.format is btn.ROOM:
        await _entry(ctx, staff)
    elif action == "d":
        dialogue = await allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await _show_dialogue(ctx, dialogue, pressed["page"])
    elif action == "q":
        found = await allowed_question(ctx, staff, pressed["ticket"])
        if found is not None:
            await _show_question(ctx, *found)
    elif action == "i":
        await _ask_summary(ctx, staff, pressed["ticket"])
    elif action == "c":
        found = await allowed_question(ctx, staff, pressed["ticket"])
        if found is not None:
            question, dialogue = found
            await commitment.start_commitment(ctx, dialogue, question)
    elif action == "gc":
        dialogue = await allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await commitment.start_commitment(ctx, dialogue, None)
    elif action == "a":
        dialogue = await allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await attendance.show_attendance(ctx, dialogue, pressed["page"])
    elif action == "at":
        await attendance.toggle_attendance(ctx, staff, pressed["invitation"], pressed["page"])
    elif action in ("is", "ca", "cd", "cr", "x"):
        await _draft_button(ctx, staff, action, pressed)
    else:
        stale(ctx)


# The step of the formats that carry no "step" field.
ACTION_OF = {
    btn.ROOM: "r",
    btn.ROOM_GENERAL: "gc",
    btn.ROOM_ATTENDANCE: "at",
    btn.ROOM_AGENCY: "ca",
    btn.ROOM_DEADLINE: "cd",
}


async def _draft_button(ctx: Context, staff: Staff, action: str, pressed: btn.Pressed) -> None:
    """A button of a draft: only the current draft's (its nonce) at the step it belongs to."""
    if not current(ctx, PREFIX, pressed["nonce"]):
        stale(ctx)
    elif action == "x":
        _cancel(ctx)
    elif action == "is" and ctx.state.name == "room.summary":
        await _finish_in_room(ctx, staff, "")
    elif action == "ca":
        await commitment.choose_agency(ctx, staff, pressed["agency"])
    elif action == "cd":
        await commitment.FLOW.deadline_pressed(ctx, staff, pressed)
    elif action == "cr":
        await commitment.FLOW.agency_pressed(ctx, staff)
    else:
        stale(ctx)


def _cancel(ctx: Context) -> None:
    dialogue_id = ctx.state.data.get("dialogue")
    ctx.clear_state()
    ctx.notice = ctx.t._("Cancelled")
    ctx.say(
        ctx.t._("Cancelled. Nothing was recorded."),
        buttons=[back(ctx, dialogue_id)] if dialogue_id else None,
    )


async def on_text(ctx: Context) -> None:
    """Typed text of a room draft: a summary, a commitment's content, deadline or who."""
    _ = ctx.t._
    staff = await require(ctx, "facilitator", "room text")
    if staff is None:
        ctx.clear_state()
        return
    typed = ctx.incoming.text.strip()
    name = ctx.state.name
    if not typed:
        ctx.say(_("Your message was empty."))
    elif name == "room.summary":
        if len(typed) > SUMMARY_MAX:
            ctx.say(
                _("That is too long: {count} characters, at most {max}. Please shorten it.").format(
                    count=len(typed), max=SUMMARY_MAX
                ),
                buttons=[cancel_row(ctx)],
            )
            return
        await _finish_in_room(ctx, staff, typed)
    elif name == commitment.FLOW.state:
        await commitment.FLOW.on_text(ctx, staff, typed)
    else:
        ctx.say(_("Please choose with the buttons below."), buttons=[cancel_row(ctx)])


# Answered at the dialogue


async def _ask_summary(ctx: Context, staff: Staff, ticket: str) -> None:
    _ = ctx.t._
    found = await allowed_question(ctx, staff, ticket)
    if found is None:
        return
    question, dialogue = found
    if question.answered_in_room:
        ctx.notice = _("Already marked")
        ctx.say(
            _("#{ticket} is already marked as answered at the dialogue.").format(
                ticket=question.ticket
            ),
            buttons=[back(ctx, dialogue.id)],
        )
        return
    nonce = begin(ctx, "room.summary", ticket=question.ticket, dialogue=dialogue.id)
    ctx.say(
        _(
            "#{ticket} was answered at the dialogue. Type a short summary of the answer: the "
            "asker and everyone who follows the question will receive it. Or press Skip to "
            "only mark it answered."
        ).format(ticket=question.ticket),
        buttons=[
            [Button(_("⏭ Skip"), btn.ROOM_DRAFT.build(step="is", nonce=nonce))],
            cancel_row(ctx),
        ],
    )


async def _finish_in_room(ctx: Context, staff: Staff, summary: str) -> None:
    _ = ctx.t._
    ticket = ctx.state.data.get("ticket", "")
    ctx.clear_state()
    found = await allowed_question(ctx, staff, ticket)
    if found is None:
        return
    question, dialogue = found
    answer = await followup.answered_in_room(
        ctx.session,
        question=question,
        staff_id=staff.id,
        summary=summary,
        now=ctx.now,
        today=ctx.today,
    )
    text = _("#{ticket} is marked as answered at the dialogue.").format(ticket=question.ticket)
    if answer is not None:
        told = await PushBack(ctx.notifier).answer(
            ctx.session,
            answer=answer,
            question=question,
            now=ctx.now,
        )
        text += "\n" + ctx.t.ngettext(
            "The summary goes to {count} person who follows the question.",
            "The summary goes to {count} people who follow the question.",
            told,
        ).format(count=told)
    ctx.notice = _("Recorded")
    ctx.say(text, buttons=[back(ctx, dialogue.id)])
