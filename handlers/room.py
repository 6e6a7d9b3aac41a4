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
| room.c.agency  | an agency button                            | room.c.content        |
| room.c.content | what is committed, typed                    | room.c.due            |
| room.c.due     | a deadline button, or a date typed          | room.c.resp           |
| room.c.resp    | who is responsible, typed, or the agency    | done                  |

Drafts live in the conversation state and go when they are finished, cancelled or /huy.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta

from bot import buttons as btn
from bot.core.lifecycles import InvitationStatus, QuestionStatus
from bot.i18n import N_, parse_date
from bot.messages import Button
from handlers.context import Context
from handlers.pushback import publish_answer, publish_commitment
from handlers.roles import require
from handlers.support import excerpt
from storage import followup
from storage import invitations as inv
from storage.conversations import State
from storage.models import Agency, Dialogue, Invitation, Question, Staff
from storage.support import by_ticket
from storage.topics import TOPICS

log = logging.getLogger(__name__)

PAGE = 8
ATTENDANCE_PAGE = 8
SUMMARY_MAX = 1500
CONTENT_MIN, CONTENT_MAX = 5, 1000
RESPONSIBLE_MAX = 200
LATER_DAYS = 30
# Entry and access


async def show(ctx: Context) -> None:
    """/buoidoithoai: the room of the facilitator's ward's dialogue."""
    staff = await require(ctx, "facilitator", "room")
    if staff is not None:
        await _entry(ctx, staff)


async def _entry(ctx: Context, staff: Staff) -> None:
    _ = ctx.t._
    dialogues = await _dialogues(ctx, staff)
    if len(dialogues) == 1:
        await _show_dialogue(ctx, dialogues[0], 0)
    elif not dialogues:
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
                for d in dialogues
                if d.starts_at is not None
            ],
        )


async def _dialogues(ctx: Context, staff: Staff) -> list[Dialogue]:
    return await followup.room_dialogues(ctx.session, ward=staff.ward or "", now=ctx.now)


async def _allowed_dialogue(ctx: Context, staff: Staff, dialogue_id: str | int) -> Dialogue | None:
    """The dialogue if its room is this facilitator's and open; otherwise refused and logged."""
    if isinstance(dialogue_id, str):
        dialogue_id = int(dialogue_id) if dialogue_id.isdigit() else -1
    for dialogue in await _dialogues(ctx, staff):
        if dialogue.id == dialogue_id:
            return dialogue
    _refuse(ctx, staff)
    return None


async def _allowed_question(
    ctx: Context, staff: Staff, ticket: str
) -> tuple[Question, Dialogue] | None:
    """The question if it belongs to this facilitator's open room and can still be dealt with."""
    question = await by_ticket(ctx.session, ticket=ticket[:12])
    if question is not None and question.status in followup.ROOM_STATUSES:
        for dialogue in await _dialogues(ctx, staff):
            if dialogue.id == question.dialogue_id:
                return question, dialogue
    _refuse(ctx, staff)
    return None


def _refuse(ctx: Context, staff: Staff) -> None:
    log.warning("refused a room action outside the rooms of facilitator %s", staff.id)
    ctx.notice = ctx.t._("Not available")
    ctx.say(
        ctx.t._(
            "This is not a question or a dialogue of your ward, or the dialogue's room is closed."
        ),
        buttons=[[Button(ctx.t._("🏛 At the dialogue"), btn.ROOM.build())]],
    )


def _back(ctx: Context, dialogue_id: int) -> list[Button]:
    return [
        Button(
            ctx.t._("◀️ Back to the questions"),
            btn.ROOM_DIALOGUE.build(step="d", dialogue=dialogue_id, page=0),
        )
    ]


# The dialogue and its questions


STATUS_MARKS = {
    QuestionStatus.APPROVED: "⏳",
    QuestionStatus.ANSWERED: "✅",
    QuestionStatus.COMMITTED: "🤝",
}


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
        nav = []
        if page > 0:
            nav.append(
                Button(
                    _("⬅️ Previous"),
                    btn.ROOM_DIALOGUE.build(step="d", dialogue=dialogue.id, page=page - 1),
                )
            )
        if page + 1 < pages:
            nav.append(
                Button(
                    _("➡️ More"),
                    btn.ROOM_DIALOGUE.build(step="d", dialogue=dialogue.id, page=page + 1),
                )
            )
        rows.append(nav)
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
    QuestionStatus.APPROVED: N_("⏳ waiting for an answer"),
    QuestionStatus.ANSWERED: N_("✅ answered"),
    QuestionStatus.COMMITTED: N_("🤝 commitment made"),
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
    rows.append(_back(ctx, dialogue.id))
    ctx.say("\n".join(lines), title=f"#{question.ticket}", buttons=rows)


# Buttons and text


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """Every g:… button; the role and the ward are checked first, whatever the data says."""
    form = pressed.format
    action = pressed.get("step") or ACTION_OF.get(form, "")
    staff = await require(ctx, "facilitator", f"room button {action[:4]}")
    if staff is None:
        return
    if form is btn.ROOM:
        await _entry(ctx, staff)
    elif action == "d":
        dialogue = await _allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await _show_dialogue(ctx, dialogue, pressed["page"])
    elif action == "q":
        found = await _allowed_question(ctx, staff, pressed["ticket"])
        if found is not None:
            await _show_question(ctx, *found)
    elif action == "i":
        await _ask_summary(ctx, staff, pressed["ticket"])
    elif action == "c":
        found = await _allowed_question(ctx, staff, pressed["ticket"])
        if found is not None:
            question, dialogue = found
            await _start_commitment(ctx, dialogue, question)
    elif action == "gc":
        dialogue = await _allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await _start_commitment(ctx, dialogue, None)
    elif action == "a":
        dialogue = await _allowed_dialogue(ctx, staff, pressed["dialogue"])
        if dialogue is not None:
            await _show_attendance(ctx, dialogue, pressed["page"])
    elif action == "at":
        await _toggle_attendance(ctx, staff, pressed["invitation"], pressed["page"])
    elif action in ("is", "ca", "cd", "cr", "x"):
        await _draft_button(ctx, staff, action, pressed)
    else:
        _stale(ctx)


# The step of the formats that carry no "step" field.
ACTION_OF = {
    btn.ROOM: "r",
    btn.ROOM_GENERAL: "gc",
    btn.ROOM_ATTENDANCE: "at",
    btn.ROOM_AGENCY: "ca",
    btn.ROOM_DEADLINE: "cd",
}


def _stale(ctx: Context) -> None:
    ctx.notice = ctx.t._("This button is out of date.")
    ctx.say(
        ctx.t._("That button is from an earlier message."),
        buttons=[[Button(ctx.t._("🏛 At the dialogue"), btn.ROOM.build())]],
    )


async def _draft_button(ctx: Context, staff: Staff, action: str, pressed: btn.Pressed) -> None:
    """A button of a draft: only the current draft's (its nonce) at the step it belongs to."""
    _ = ctx.t._
    data = ctx.state.data
    expected = {
        "is": "room.summary",
        "ca": "room.c.agency",
        "cd": "room.c.due",
        "cr": "room.c.resp",
    }
    current = ctx.state.name.startswith("room.") and data.get("nonce") == pressed["nonce"]
    if not current or (action in expected and ctx.state.name != expected[action]):
        _stale(ctx)
        return
    if action == "x":
        dialogue_id = data.get("dialogue")
        ctx.clear_state()
        ctx.notice = _("Cancelled")
        ctx.say(
            _("Cancelled. Nothing was recorded."),
            buttons=[_back(ctx, dialogue_id)] if dialogue_id else None,
        )
    elif action == "is":
        await _finish_in_room(ctx, staff, "")
    elif action == "ca":
        await _choose_agency(ctx, pressed["agency"])
    elif action == "cd":
        _ask_responsible(ctx, ctx.today + timedelta(days=pressed["days"]))
    elif action == "cr":
        agency = await ctx.session.get(Agency, data.get("agency", ""))
        await _finish_commitment(ctx, staff, _(agency.name) if agency else "")
    else:
        _stale(ctx)


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
                buttons=[_cancel_row(ctx)],
            )
            return
        await _finish_in_room(ctx, staff, typed)
    elif name == "room.c.content":
        if not CONTENT_MIN <= len(typed) <= CONTENT_MAX:
            ctx.say(
                _("Please write the commitment in {min} to {max} characters.").format(
                    min=CONTENT_MIN, max=CONTENT_MAX
                ),
                buttons=[_cancel_row(ctx)],
            )
            return
        ctx.state.data["content"] = typed
        ctx.state.name = "room.c.due"
        _ask_deadline(ctx)
    elif name == "room.c.due":
        due = parse_date(typed)
        if due is None or due < ctx.today:
            example = (ctx.today + timedelta(days=LATER_DAYS)).strftime("%d/%m/%Y")
            _ask_deadline(
                ctx,
                _(
                    "Please type a date that has not passed, like {example}, or press a button."
                ).format(example=example),
            )
            return
        _ask_responsible(ctx, due)
    elif name == "room.c.resp":
        await _finish_commitment(ctx, staff, typed[:RESPONSIBLE_MAX])
    else:
        ctx.say(_("Please choose with the buttons below."), buttons=[_cancel_row(ctx)])


def _new_draft(ctx: Context, name: str, **data: object) -> str:
    nonce = secrets.token_hex(3)
    ctx.state = State(name=name, data={"nonce": nonce, **data})
    return nonce


def _cancel_row(ctx: Context) -> list[Button]:
    return [
        Button(ctx.t._("❌ Cancel"), btn.ROOM_DRAFT.build(step="x", nonce=ctx.state.data["nonce"]))
    ]


# Answered at the dialogue


async def _ask_summary(ctx: Context, staff: Staff, ticket: str) -> None:
    _ = ctx.t._
    found = await _allowed_question(ctx, staff, ticket)
    if found is None:
        return
    question, dialogue = found
    if question.answered_in_room:
        ctx.notice = _("Already marked")
        ctx.say(
            _("#{ticket} is already marked as answered at the dialogue.").format(
                ticket=question.ticket
            ),
            buttons=[_back(ctx, dialogue.id)],
        )
        return
    nonce = _new_draft(ctx, "room.summary", ticket=question.ticket, dialogue=dialogue.id)
    ctx.say(
        _(
            "#{ticket} was answered at the dialogue. Type a short summary of the answer: the "
            "asker and everyone who follows the question will receive it. Or press Skip to "
            "only mark it answered."
        ).format(ticket=question.ticket),
        buttons=[
            [Button(_("⏭ Skip"), btn.ROOM_DRAFT.build(step="is", nonce=nonce))],
            _cancel_row(ctx),
        ],
    )


async def _finish_in_room(ctx: Context, staff: Staff, summary: str) -> None:
    _ = ctx.t._
    ticket = ctx.state.data.get("ticket", "")
    ctx.clear_state()
    found = await _allowed_question(ctx, staff, ticket)
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
        told = await publish_answer(
            ctx.session,
            answer=answer,
            question=question,
            sealer=ctx.sealer,
            now=ctx.now,
            zone=ctx.zone,
            default_locale=ctx.default_locale,
        )
        text += "\n" + ctx.t.ngettext(
            "The summary goes to {count} person who follows the question.",
            "The summary goes to {count} people who follow the question.",
            told,
        ).format(count=told)
    ctx.notice = _("Recorded")
    ctx.say(text, buttons=[_back(ctx, dialogue.id)])


# Commitments


async def _start_commitment(ctx: Context, dialogue: Dialogue, question: Question | None) -> None:
    _ = ctx.t._
    nonce = _new_draft(
        ctx,
        "room.c.agency",
        dialogue=dialogue.id,
        ticket=question.ticket if question is not None else None,
    )
    agencies = await followup.agencies_first(
        ctx.session, first=question.agency if question is not None else None
    )
    if question is not None:
        text = _("Commitment on #{ticket}: which agency commits?").format(ticket=question.ticket)
    else:
        text = _("General commitment of the dialogue: which agency commits?")
    ctx.say(
        text,
        title=_("Record a commitment"),
        buttons=[
            *[
                [Button(_(a.name), btn.ROOM_AGENCY.build(nonce=nonce, agency=a.code))]
                for a in agencies
            ],
            _cancel_row(ctx),
        ],
    )


async def _choose_agency(ctx: Context, code: str) -> None:
    _ = ctx.t._
    agency = await ctx.session.get(Agency, code)
    if agency is None or not agency.active:
        _stale(ctx)
        return
    ctx.state.data["agency"] = agency.code
    ctx.state.name = "room.c.content"
    ctx.say(
        _("What does {agency} commit to do? Please type it in one message.").format(
            agency=_(agency.name)
        ),
        buttons=[_cancel_row(ctx)],
    )


def _ask_deadline(ctx: Context, text: str = "") -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    days = ctx.policy.answer_days
    rows = [
        [
            Button(
                _("In {days} days (default)").format(days=days),
                btn.ROOM_DEADLINE.build(nonce=nonce, days=days),
            )
        ]
    ]
    if days != LATER_DAYS:
        rows.append(
            [
                Button(
                    _("In {days} days").format(days=LATER_DAYS),
                    btn.ROOM_DEADLINE.build(nonce=nonce, days=LATER_DAYS),
                )
            ]
        )
    ctx.say(
        text or _("By when? Press a button, or type a date as dd/mm/yyyy."),
        buttons=[*rows, _cancel_row(ctx)],
    )


def _ask_responsible(ctx: Context, due: date) -> None:
    _ = ctx.t._
    ctx.state.data["due"] = due.isoformat()
    ctx.state.name = "room.c.resp"
    nonce = ctx.state.data["nonce"]
    ctx.say(
        _(
            "Deadline: {date}. Who is responsible? Type a name or a unit, or press the agency."
        ).format(date=ctx.t.date(due)),
        buttons=[
            [Button(_("🏛 The agency itself"), btn.ROOM_DRAFT.build(step="cr", nonce=nonce))],
            _cancel_row(ctx),
        ],
    )


async def _finish_commitment(ctx: Context, staff: Staff, responsible: str) -> None:
    _ = ctx.t._
    data = dict(ctx.state.data)
    ctx.clear_state()
    dialogue = await _allowed_dialogue(ctx, staff, data.get("dialogue", -1))
    if dialogue is None:
        return
    question = None
    if data.get("ticket"):
        found = await _allowed_question(ctx, staff, data["ticket"])
        if found is None:
            return
        question = found[0]
    agency = await ctx.session.get(Agency, data.get("agency", ""))
    if agency is None or "content" not in data or "due" not in data:
        _stale(ctx)
        return
    commitment = await followup.record_commitment(
        ctx.session,
        dialogue_id=dialogue.id,
        question=question,
        agency=agency.code,
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=responsible,
        staff_id=staff.id,
        now=ctx.now,
        today=ctx.today,
    )
    lines = [
        _("🏛 {agency}").format(agency=_(agency.name)),
        _("🤝 Commitment: {content}").format(content=commitment.content),
        _("📅 Deadline: {date}").format(date=ctx.t.date(commitment.due_on)),
        _("👤 Responsible: {who}").format(who=commitment.responsible or "–"),
    ]
    if question is not None:
        told = await publish_commitment(
            ctx.session,
            commitment=commitment,
            question=question,
            sealer=ctx.sealer,
            now=ctx.now,
            zone=ctx.zone,
            default_locale=ctx.default_locale,
        )
        lines += [
            "",
            ctx.t.ngettext(
                "#{ticket}: sent to {count} person who follows the question.",
                "#{ticket}: sent to {count} people who follow the question.",
                told,
            ).format(ticket=question.ticket, count=told),
        ]
    ctx.notice = _("Recorded")
    ctx.say("\n".join(lines), title=_("Commitment recorded"), buttons=[_back(ctx, dialogue.id)])


# Attendance


async def _show_attendance(ctx: Context, dialogue: Dialogue, page: int) -> None:
    _ = ctx.t._
    invitees = [
        *await inv.with_status(
            ctx.session, dialogue_id=dialogue.id, statuses=[InvitationStatus.ACCEPTED]
        ),
        *await inv.with_status(
            ctx.session,
            dialogue_id=dialogue.id,
            statuses=[InvitationStatus.INVITED, InvitationStatus.LETTER],
        ),
    ]
    if not invitees:
        ctx.say(
            _("No households were invited to this dialogue."),
            title=_("Attendance"),
            buttons=[_back(ctx, dialogue.id)],
        )
        return
    pages = (len(invitees) + ATTENDANCE_PAGE - 1) // ATTENDANCE_PAGE
    page = min(max(page, 0), pages - 1)
    present = sum(1 for i in invitees if i.invitation.attended)
    rows: list[list[Button]] = []
    for invitee in invitees[page * ATTENDANCE_PAGE : (page + 1) * ATTENDANCE_PAGE]:
        household = invitee.household
        mark = "✅" if invitee.invitation.attended else "⬜"
        where = f" · {household.hamlet}" if household.hamlet else ""
        rows.append(
            [
                Button(
                    f"{mark} {household.head_name}{where}"[:60],
                    btn.ROOM_ATTENDANCE.build(invitation=invitee.invitation.id, page=page),
                )
            ]
        )
    nav = []
    if page > 0:
        nav.append(
            Button(
                _("⬅️ Previous"),
                btn.ROOM_DIALOGUE.build(step="a", dialogue=dialogue.id, page=page - 1),
            )
        )
    if page + 1 < pages:
        nav.append(
            Button(
                _("➡️ More"), btn.ROOM_DIALOGUE.build(step="a", dialogue=dialogue.id, page=page + 1)
            )
        )
    if nav:
        rows.append(nav)
    rows.append(_back(ctx, dialogue.id))
    lines = [
        dialogue.title,
        _("Press a household to mark it present ✅ or not ⬜ (those who accepted first)."),
        _("Present: {present} of {total}").format(present=present, total=len(invitees)),
    ]
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    ctx.say("\n".join(lines), title=_("Attendance"), buttons=rows)


async def _toggle_attendance(ctx: Context, staff: Staff, invitation_id: int, page: int) -> None:
    invitation = await ctx.session.get(Invitation, invitation_id)
    if invitation is None:
        _refuse(ctx, staff)
        return
    dialogue = await _allowed_dialogue(ctx, staff, invitation.dialogue_id)
    if dialogue is None:
        return
    toggled = await followup.toggle_attendance(
        ctx.session, invitation_id=invitation_id, dialogue_id=dialogue.id
    )
    if toggled is None:
        _stale(ctx)
        return
    ctx.notice = ctx.t._("Present") if toggled.attended else ctx.t._("Not present")
    await _show_attendance(ctx, dialogue, page)
