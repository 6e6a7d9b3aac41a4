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

Buttons are "o:…" and carry tickets and ids only; the steps of a draft carry its nonce, so a
button of an earlier draft is recognised as stale. Every command, button and text checks the
official's role on the server, and every action checks that the question or commitment belongs
to the official's agency: a replayed button of another agency is refused and logged.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta

from bot import buttons as btn
from bot.core.lifecycles import CommitmentStatus, QuestionStatus
from bot.i18n import N_, Translator, choose, parse_date
from bot.messages import Button, Reply
from handlers.ask import dialogue_title
from handlers.context import Context
from handlers.pushback import commitment_lines, excerpt, publish_answer, publish_commitment
from handlers.roles import require
from storage import answers as store
from storage.conversations import State
from storage.models import Account, Agency, Commitment, Dialogue, Question, Staff
from storage.outbox import PRIORITY_REPLY, Outgoing, enqueue_many
from storage.topics import TOPICS

log = logging.getLogger(__name__)

PAGE = 5
ANSWER_LIMITS = (10, 3000)
CONTENT_LIMITS = (10, 1000)
PROGRESS_LIMITS = (5, 1000)
SUMMARY_LIMITS = (5, 1000)
NOTE_MAX = 500
RESPONSIBLE_MAX = 200
LONGER_DAYS = 30
SHOWN_ANSWERS = 3
SHOWN_COMMITMENTS = 5

STATUS_MARKS = {
    QuestionStatus.APPROVED: N_("⏳ waiting"),
    QuestionStatus.ANSWERED: N_("✅ answered"),
    QuestionStatus.COMMITTED: N_("🤝 committed"),
    QuestionStatus.FULFILLED: N_("🏁 fulfilled"),
}


# Entry points


async def show(ctx: Context) -> None:
    """/hopthu: the first page of the agency's inbox; a draft left open is dropped."""
    staff = await require(ctx, "official", "inbox")
    if staff is None:
        return
    if ctx.state.name.startswith("inbox."):
        ctx.clear_state()
    await _inbox_page(ctx, staff, 0)


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """ "o:…" buttons: the inbox, a card, the actions on it, the steps of a draft."""
    form = pressed.format
    action = pressed.get("step") or ACTION_OF.get(form, "")
    staff = await require(ctx, "official", f"inbox button {action[:8]}")
    if staff is None:
        return
    if form is btn.INBOX:
        await _inbox_page(ctx, staff, pressed.get("page", 0))
    elif form is btn.INBOX_QUESTION:
        question = await _own_question(ctx, staff, pressed["ticket"], action)
        if question is not None:
            await QUESTION_ACTIONS[action](ctx, staff, question)
    elif form is btn.INBOX_FORWARD:
        question = await _own_question(ctx, staff, pressed["ticket"], action)
        if question is not None:
            await _forward_to(ctx, staff, question, pressed["agency"])
    elif form is btn.COMMITMENTS:
        await _commitments_page(ctx, staff, 0)
    elif form is btn.COMMITMENTS_PAGE:
        await _commitments_page(ctx, staff, pressed["page"])
    elif form is btn.COMMITMENT:
        commitment = await _own_commitment(ctx, staff, pressed["commitment"], action)
        if commitment is not None:
            await COMMITMENT_ACTIONS[action](ctx, staff, commitment)
    elif action in DRAFT_ACTIONS and _current(ctx, pressed["nonce"]):
        await DRAFT_ACTIONS[action](ctx, staff, pressed)
    else:
        _stale(ctx)


async def on_text(ctx: Context) -> None:
    """Typed text in a draft: the answer, the commitment's parts, a note, a summary."""
    staff = await require(ctx, "official", "inbox text")
    if staff is None:
        ctx.clear_state()
        return
    handler = TEXT_STEPS.get(ctx.state.name)
    if handler is None:
        ctx.clear_state()
        await _inbox_page(ctx, staff, 0)
        return
    await handler(ctx, staff, ctx.incoming.text.strip())


# Helpers


def _current(ctx: Context, nonce: str) -> bool:
    return ctx.state.name.startswith("inbox.") and ctx.state.data.get("nonce") == nonce


def _stale(ctx: Context) -> None:
    _ = ctx.t._
    ctx.notice = _("This button is out of date.")
    ctx.say(
        _("That button is from an earlier message."),
        buttons=[[Button(_("📥 Open the inbox"), btn.INBOX.build())]],
    )


def _back(ctx: Context) -> list[list[Button]]:
    return [[Button(ctx.t._("📥 Back to the inbox"), btn.INBOX.build())]]


def _overdue(ctx: Context, question: Question) -> bool:
    return (
        question.status == QuestionStatus.APPROVED
        and question.due_on is not None
        and question.due_on < ctx.today
    )


async def _agency_name(ctx: Context, code: str | None) -> str:
    agency = await ctx.session.get(Agency, code) if code else None
    # A seeded agency's name is a catalog msgid; others are shown as written.
    return ctx.t._(agency.name) if agency is not None else (code or "")


async def _own_question(ctx: Context, staff: Staff, ticket: str, action: str) -> Question | None:
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
        ctx.say(_("This question is not in your agency's inbox."), buttons=_back(ctx))
        return None
    if question.status not in store.INBOX_STATUSES:
        ctx.notice = _("This question is not in your inbox any more.")
        ctx.say(
            _("#{ticket} is not in your inbox now: the facilitator has it.").format(
                ticket=question.ticket
            ),
            buttons=_back(ctx),
        )
        return None
    return question


async def _own_commitment(ctx: Context, staff: Staff, ident: int, action: str) -> Commitment | None:
    _ = ctx.t._
    commitment = await ctx.session.get(Commitment, ident)
    if commitment is None or commitment.agency != staff.agency:
        log.warning(
            "refused inbox %s: staff %s acted on a commitment outside their agency",
            action[:8],
            staff.id,
        )
        ctx.notice = _("This commitment is not your agency's.")
        ctx.say(_("This commitment is not your agency's."), buttons=_back(ctx))
        return None
    return commitment


# The inbox and a question's card


async def _inbox_page(ctx: Context, staff: Staff, page: int) -> None:
    """One page of the inbox: five questions as buttons."""
    _ = ctx.t._
    assert staff.agency is not None
    agency = await _agency_name(ctx, staff.agency)
    items = await store.inbox(ctx.session, agency=staff.agency)
    commitments = [Button(_("📌 Our commitments"), btn.COMMITMENTS.build())]
    if not items:
        ctx.say(
            _("There are no questions for {agency} right now.").format(agency=agency),
            title=_("Inbox"),
            buttons=[commitments],
        )
        return
    pages = (len(items) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    shown = items[page * PAGE : (page + 1) * PAGE]
    lines, rows = [], []
    for item in shown:
        q = item.question
        label = f"#{q.ticket} · 👥{q.supporters} · {_mark(ctx, q)}"
        lines.append(f"{label}\n“{excerpt(q.text, 90)}”")
        rows.append([Button(label, btn.INBOX_QUESTION.build(step="q", ticket=q.ticket))])
    nav = []
    if page > 0:
        nav.append(Button(_("◀️ Previous"), btn.INBOX.build(page=page - 1)))
    if page < pages - 1:
        nav.append(Button(_("Next ▶️"), btn.INBOX.build(page=page + 1)))
    if nav:
        rows.append(nav)
    rows.append(commitments)
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    title = ctx.t.ngettext(
        "{agency}: {count} question", "{agency}: {count} questions", len(items)
    ).format(agency=agency, count=len(items))
    ctx.say("\n\n".join(lines), title=title, buttons=rows)


def _mark(ctx: Context, question: Question) -> str:
    """A question's state in a word: overdue, waiting, answered, committed, fulfilled."""
    if _overdue(ctx, question):
        return ctx.t._("⚠️ overdue")
    return ctx.t._(STATUS_MARKS.get(question.status, question.status))


def _wards(ctx: Context, dialogue: Dialogue) -> str:
    if dialogue.kind == "general":
        return ctx.t._("general questions")
    return ", ".join(dialogue.wards) if dialogue.wards else ctx.t._("all wards")


async def _asker(ctx: Context, question: Question) -> str:
    """Who asked: "Người hỏi ẩn danh" for an anonymous question, whatever else is known."""
    if question.anonymous or question.account_id is None:
        return ctx.t._("Anonymous asker")
    account = await ctx.session.get(Account, question.account_id)
    name = account.display_name.strip() if account is not None else ""
    return name or ctx.t._("A named asker (no name given)")


async def _card(ctx: Context, staff: Staff, question: Question) -> None:
    """A question as the official reads it, with what was answered and committed so far."""
    _ = ctx.t._
    t = ctx.t
    dialogue = await ctx.session.get(Dialogue, question.dialogue_id)
    assert dialogue is not None
    topic = TOPICS.get(question.topic)
    lines = [
        _("Dialogue: {title}").format(title=dialogue_title(ctx, dialogue)),
        _("Wards: {wards}").format(wards=_wards(ctx, dialogue)),
        _("Topic: {topic}").format(topic=_(topic.name) if topic else question.topic),
        _("Asked by: {asker}").format(asker=await _asker(ctx, question)),
        _("Sent on: {date}").format(date=t.date(question.submitted_on)),
        _("👥 Supporters: {count}").format(count=question.supporters),
        _("Status: {status}").format(status=_mark(ctx, question)),
    ]
    if question.due_on is not None:
        due = _("Deadline to answer: {date}").format(date=t.date(question.due_on))
        lines.append(due + (" " + _("⚠️ overdue") if _overdue(ctx, question) else ""))
    if question.sensitive:
        lines.append(_("🔒 Sensitive: never shown in public."))
    lines += ["", f"“{question.text}”"]
    answers = await store.answers_to(ctx.session, question_ids=[question.id])
    for answer in answers[-SHOWN_ANSWERS:]:
        heading = (
            _("🏛 Answered at the dialogue ({date}):")
            if answer.in_room
            else _("✍️ Answer of {date}:")
        ).format(date=t.short_date(answer.published_at))
        lines += ["", heading, excerpt(answer.text, 300)]
    if question.answered_in_room and not any(a.in_room for a in answers):
        lines += ["", _("🏛 Answered at the dialogue.")]
    commitments = await store.commitments_to(ctx.session, question_ids=[question.id])
    for commitment in commitments[:SHOWN_COMMITMENTS]:
        lines += ["", *_commitment_lines(ctx, commitment)]
    ctx.say(
        "\n".join(lines),
        title=_("Question #{ticket}").format(ticket=question.ticket),
        buttons=[
            [Button(_("✍️ Answer"), btn.INBOX_QUESTION.build(step="a", ticket=question.ticket))],
            [
                Button(
                    _("🤝 Commitment"), btn.INBOX_QUESTION.build(step="c", ticket=question.ticket)
                )
            ],
            [
                Button(
                    _("↪️ Forward to another agency"),
                    btn.INBOX_QUESTION.build(step="w", ticket=question.ticket),
                )
            ],
            [
                Button(
                    _("🏛 Answered at the dialogue"),
                    btn.INBOX_QUESTION.build(step="r", ticket=question.ticket),
                )
            ],
            *_back(ctx),
        ],
    )


def _commitment_lines(ctx: Context, commitment: Commitment) -> list[str]:
    lines = commitment_lines(ctx.t, commitment)
    if commitment.status == CommitmentStatus.OPEN and commitment.due_on < ctx.today:
        lines[1] += " " + ctx.t._("⚠️ overdue")
    return lines


def _draft(ctx: Context, step: str) -> str:
    """A button of the current draft: its step and the draft's nonce."""
    return btn.INBOX_DRAFT.build(step=step, nonce=ctx.state.data["nonce"])


def _cancel_row(ctx: Context) -> list[Button]:
    return [Button(ctx.t._("❌ Cancel"), _draft(ctx, "x"))]


def _begin(ctx: Context, name: str, **data: object) -> None:
    ctx.state = State(name=name, data={"nonce": secrets.token_hex(3), **data})


def _length_ok(ctx: Context, text: str, limits: tuple[int, int]) -> bool:
    low, high = limits
    if low <= len(text) <= high:
        return True
    ctx.say(
        ctx.t._("Please write between {low} and {high} characters (you wrote {count}).").format(
            low=low, high=high, count=len(text)
        ),
        buttons=[_cancel_row(ctx)],
    )
    return False


def _preview_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    return [
        [Button(_("📢 Publish"), btn.INBOX_DRAFT.build(step="pub", nonce=nonce))],
        [Button(_("✏️ Rewrite"), btn.INBOX_DRAFT.build(step="re", nonce=nonce))],
        _cancel_row(ctx),
    ]


def _published(ctx: Context, count: int, what: str) -> None:
    ctx.say(
        what
        + "\n"
        + ctx.t.ngettext(
            "It was sent to {count} person who asked or follows the question.",
            "It was sent to {count} people who asked or follow the question.",
            count,
        ).format(count=count),
        buttons=_back(ctx),
    )


async def _question_of_draft(ctx: Context, staff: Staff) -> Question | None:
    """The draft's question, checked again: it may have been forwarded or reopened since."""
    question = await _own_question(ctx, staff, ctx.state.data.get("ticket", ""), "publish")
    if question is None:
        ctx.clear_state()
    return question


# Answer


async def _start_answer(ctx: Context, staff: Staff, question: Question) -> None:
    _begin(ctx, "inbox.answer", ticket=question.ticket)
    _ask_answer(ctx)


def _ask_answer(ctx: Context) -> None:
    low, high = ANSWER_LIMITS
    ctx.say(
        ctx.t._(
            "Write the answer to #{ticket} ({low}–{high} characters). It will go to the asker "
            "and to everyone who follows the question."
        ).format(ticket=ctx.state.data["ticket"], low=low, high=high),
        buttons=[_cancel_row(ctx)],
    )


async def _answer_typed(ctx: Context, staff: Staff, text: str) -> None:
    if not _length_ok(ctx, text, ANSWER_LIMITS):
        return
    ctx.state.data["text"] = text
    ctx.say(
        f"#{ctx.state.data['ticket']}\n\n{text}",
        title=ctx.t._("Preview of your answer"),
        buttons=_preview_buttons(ctx),
    )


async def _publish_answer(ctx: Context, staff: Staff) -> None:
    question = await _question_of_draft(ctx, staff)
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
    count = await publish_answer(
        ctx.session,
        answer=answer,
        question=question,
        sealer=ctx.sealer,
        now=ctx.now,
        zone=ctx.zone,
        default_locale=ctx.default_locale,
    )
    ctx.clear_state()
    _published(
        ctx, count, ctx.t._("The answer to #{ticket} is published.").format(ticket=question.ticket)
    )


# Commitment


async def _start_commitment(ctx: Context, staff: Staff, question: Question) -> None:
    _begin(ctx, "inbox.commit", ticket=question.ticket, step="content")
    await _ask_content(ctx, staff)


async def _ask_content(ctx: Context, staff: Staff) -> None:
    low, high = CONTENT_LIMITS
    ctx.say(
        ctx.t._(
            "What does {agency} commit to do for #{ticket}? Write it in a few lines "
            "({low}–{high} characters)."
        ).format(
            agency=await _agency_name(ctx, staff.agency),
            ticket=ctx.state.data["ticket"],
            low=low,
            high=high,
        ),
        buttons=[_cancel_row(ctx)],
    )


def _ask_deadline(ctx: Context) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    days = ctx.policy.answer_days
    rows = [
        [
            Button(
                _("In {days} days (default) · {date}").format(
                    days=days, date=ctx.t.short_date(ctx.today + timedelta(days=days))
                ),
                btn.INBOX_DEADLINE.build(nonce=nonce, days=days),
            )
        ]
    ]
    if LONGER_DAYS != days:
        rows.append(
            [
                Button(
                    _("In {days} days · {date}").format(
                        days=LONGER_DAYS,
                        date=ctx.t.short_date(ctx.today + timedelta(days=LONGER_DAYS)),
                    ),
                    btn.INBOX_DEADLINE.build(nonce=nonce, days=LONGER_DAYS),
                )
            ]
        )
    rows += [
        [Button(_("📅 Another date"), btn.INBOX_OTHER_DATE.build(nonce=nonce))],
        _cancel_row(ctx),
    ]
    ctx.say(_("By when will it be done?"), buttons=rows)


def _example(ctx: Context) -> str:
    return (ctx.today + timedelta(days=ctx.policy.answer_days)).strftime("%d/%m/%Y")


async def _deadline_chosen(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    if ctx.state.name != "inbox.commit" or ctx.state.data.get("step") not in ("deadline", "date"):
        _stale(ctx)
        return
    days = pressed.get("days")
    if pressed.format is btn.INBOX_OTHER_DATE:
        ctx.state.data["step"] = "date"
        ctx.say(
            ctx.t._("Type the date as dd/mm/yyyy, for example {example}.").format(
                example=_example(ctx)
            ),
            buttons=[_cancel_row(ctx)],
        )
    elif days in (ctx.policy.answer_days, LONGER_DAYS):
        await _set_deadline(ctx, staff, ctx.today + timedelta(days=days))
    else:
        _stale(ctx)


async def _set_deadline(ctx: Context, staff: Staff, due: date) -> None:
    ctx.state.data["due"] = due.isoformat()
    ctx.state.data["step"] = "responsible"
    agency = await _agency_name(ctx, staff.agency)
    ctx.say(
        ctx.t._(
            "Who is responsible? Press the button for {agency}, or type the name of a person "
            "or unit."
        ).format(agency=agency),
        buttons=[[Button(agency, _draft(ctx, "ra"))], _cancel_row(ctx)],
    )


async def _commitment_typed(ctx: Context, staff: Staff, text: str) -> None:
    _ = ctx.t._
    step = ctx.state.data.get("step")
    if step == "content":
        if _length_ok(ctx, text, CONTENT_LIMITS):
            ctx.state.data["content"] = text
            ctx.state.data["step"] = "deadline"
            _ask_deadline(ctx)
    elif step in ("deadline", "date"):
        due = parse_date(text)
        if due is None:
            ctx.say(
                _(
                    "I could not read that date. Please type it as dd/mm/yyyy, for example "
                    "{example}."
                ).format(example=_example(ctx)),
                buttons=[_cancel_row(ctx)],
            )
        elif due < ctx.today:
            ctx.say(
                _("The deadline cannot be in the past. Please type today's date or a later one."),
                buttons=[_cancel_row(ctx)],
            )
        else:
            await _set_deadline(ctx, staff, due)
    elif step == "responsible":
        if not text or len(text) > RESPONSIBLE_MAX:
            ctx.say(
                _("Please type a name of at most {high} characters.").format(high=RESPONSIBLE_MAX),
                buttons=[_cancel_row(ctx)],
            )
            return
        await _commitment_preview(ctx, staff, text)
    else:
        ctx.say(
            _("Please use the buttons: publish, rewrite or cancel."),
            buttons=_preview_buttons(ctx),
        )


async def _responsible_is_agency(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    if ctx.state.name != "inbox.commit" or ctx.state.data.get("step") != "responsible":
        _stale(ctx)
        return
    # Stored as the minutes will print it: in the service's default language.
    agency = await ctx.session.get(Agency, staff.agency)
    name = agency.name if agency is not None else (staff.agency or "")
    await _commitment_preview(ctx, staff, Translator(ctx.default_locale, ctx.zone)._(name))


def _draft_commitment(ctx: Context, staff: Staff) -> Commitment:
    data = ctx.state.data
    return Commitment(
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=data.get("responsible", ""),
        status=CommitmentStatus.OPEN,
        progress="",
        version=1,
        agency=staff.agency,
    )


async def _commitment_preview(ctx: Context, staff: Staff, responsible: str) -> None:
    ctx.state.data["responsible"] = responsible
    ctx.state.data["step"] = "preview"
    lines = [
        f"#{ctx.state.data['ticket']}",
        "",
        *commitment_lines(ctx.t, _draft_commitment(ctx, staff)),
    ]
    ctx.say(
        "\n".join(lines),
        title=ctx.t._("Preview of your commitment"),
        buttons=_preview_buttons(ctx),
    )


async def _publish_commitment(ctx: Context, staff: Staff) -> None:
    if ctx.state.data.get("step") != "preview":
        _stale(ctx)
        return
    question = await _question_of_draft(ctx, staff)
    if question is None:
        return
    data = ctx.state.data
    commitment = await store.add_commitment(
        ctx.session,
        question=question,
        staff=staff,
        content=data["content"],
        due_on=date.fromisoformat(data["due"]),
        responsible=data["responsible"],
        now=ctx.now,
        today=ctx.today,
    )
    count = await publish_commitment(
        ctx.session,
        commitment=commitment,
        question=question,
        sealer=ctx.sealer,
        now=ctx.now,
        zone=ctx.zone,
        default_locale=ctx.default_locale,
    )
    ctx.clear_state()
    _published(
        ctx,
        count,
        ctx.t._("The commitment on #{ticket} is published.").format(ticket=question.ticket),
    )


# Forward


async def _choose_agency(ctx: Context, staff: Staff, question: Question) -> None:
    _ = ctx.t._
    assert staff.agency is not None
    agencies = await store.other_agencies(ctx.session, besides=staff.agency)
    rows = [
        [Button(_(a.name), btn.INBOX_FORWARD.build(ticket=question.ticket, agency=a.code))]
        for a in agencies
    ]
    rows.append([Button(_("⬅️ Back"), btn.INBOX_QUESTION.build(step="q", ticket=question.ticket))])
    ctx.say(_("To which agency should #{ticket} go?").format(ticket=question.ticket), buttons=rows)


async def _forward_to(ctx: Context, staff: Staff, question: Question, code: str) -> None:
    _ = ctx.t._
    target = await ctx.session.get(Agency, code)
    if target is None or not target.active or target.code == staff.agency:
        _stale(ctx)
        return
    _begin(ctx, "inbox.forward", ticket=question.ticket, to=target.code)
    ctx.say(
        _(
            "Add a note for {agency}: why the question is theirs, what you already know. Or "
            "press Skip."
        ).format(agency=_(target.name)),
        buttons=[[Button(_("⏭ Skip"), _draft(ctx, "sk"))], _cancel_row(ctx)],
    )


async def _forward_note(ctx: Context, staff: Staff, text: str) -> None:
    if len(text) > NOTE_MAX:
        ctx.say(
            ctx.t._("Please keep the note under {high} characters.").format(high=NOTE_MAX),
            buttons=[_cancel_row(ctx)],
        )
        return
    await _do_forward(ctx, staff, text)


async def _do_forward(ctx: Context, staff: Staff, note: str) -> None:
    _ = ctx.t._
    question = await _question_of_draft(ctx, staff)
    if question is None:
        return
    target = await ctx.session.get(Agency, ctx.state.data["to"])
    if target is None or not target.active:
        ctx.clear_state()
        _stale(ctx)
        return
    source = question.agency
    event = await store.forward(
        ctx.session, question=question, staff=staff, to=target.code, note=note, today=ctx.today
    )
    await _tell_officials(ctx, question, source=source, note=note, event_id=event.id)
    ctx.clear_state()
    ctx.say(
        _("#{ticket} was forwarded to {agency}. It has left your inbox.").format(
            ticket=question.ticket, agency=_(target.name)
        ),
        buttons=_back(ctx),
    )


async def _tell_officials(
    ctx: Context, question: Question, *, source: str, note: str, event_id: int
) -> None:
    """Each active official of the new agency is told, in their language, once."""
    source_agency = await ctx.session.get(Agency, source)
    target_agency = await ctx.session.get(Agency, question.agency)
    messages = []
    for official, locale in await store.officials_of(ctx.session, agency=question.agency):
        t = Translator(choose(locale, ctx.default_locale), ctx.zone)
        lines = [
            t._("#{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text)
            ),
            t._("From: {agency}").format(
                agency=t._(source_agency.name) if source_agency else source
            ),
        ]
        if note:
            lines.append(t._("Note: {note}").format(note=note))
        reply = Reply(
            title=t._("A question was forwarded to {agency}").format(
                agency=t._(target_agency.name) if target_agency else question.agency
            ),
            text="\n".join(lines),
            buttons=(
                (
                    Button(
                        t._("Open #{ticket}").format(ticket=question.ticket),
                        btn.INBOX_QUESTION.build(step="q", ticket=question.ticket),
                    ),
                ),
                (Button(t._("📥 Open the inbox"), btn.INBOX.build()),),
            ),
        )
        assert official.channel is not None and official.user_id is not None
        messages.append(
            Outgoing(
                key=f"forward:{question.id}:{event_id}:{official.id}",
                channel=official.channel,
                recipient=official.user_id,
                body=reply.to_json(),
                priority=PRIORITY_REPLY,
            )
        )
    if messages:
        await enqueue_many(ctx.session, messages=messages, now=ctx.now)


# Answered at the dialogue


async def _start_in_room(ctx: Context, staff: Staff, question: Question) -> None:
    _ = ctx.t._
    _begin(ctx, "inbox.room", ticket=question.ticket)
    ctx.say(
        _(
            "#{ticket} was answered at the dialogue. You can type a short summary of the answer "
            "given there, and it will go to the asker and the followers. Or press Skip."
        ).format(ticket=question.ticket),
        buttons=[[Button(_("⏭ Skip"), _draft(ctx, "sk"))], _cancel_row(ctx)],
    )


async def _summary_typed(ctx: Context, staff: Staff, text: str) -> None:
    if _length_ok(ctx, text, SUMMARY_LIMITS):
        await _do_in_room(ctx, staff, text)


async def _do_in_room(ctx: Context, staff: Staff, summary: str) -> None:
    question = await _question_of_draft(ctx, staff)
    if question is None:
        return
    await store.mark_in_room(ctx.session, question=question, staff=staff, today=ctx.today)
    ctx.clear_state()
    done = ctx.t._("#{ticket} is marked as answered at the dialogue.").format(
        ticket=question.ticket
    )
    if not summary:
        ctx.say(done, buttons=_back(ctx))
        return
    answer = await store.add_answer(
        ctx.session,
        question=question,
        staff=staff,
        text=summary,
        now=ctx.now,
        today=ctx.today,
        in_room=True,
    )
    count = await publish_answer(
        ctx.session,
        answer=answer,
        question=question,
        sealer=ctx.sealer,
        now=ctx.now,
        zone=ctx.zone,
        default_locale=ctx.default_locale,
    )
    _published(ctx, count, done)


async def _skip(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    if ctx.state.name == "inbox.forward":
        await _do_forward(ctx, staff, "")
    elif ctx.state.name == "inbox.room":
        await _do_in_room(ctx, staff, "")
    else:
        _stale(ctx)


# Our commitments


async def _commitments_page(ctx: Context, staff: Staff, page: int) -> None:
    """The agency's open commitments, soonest deadline first, overdue ones marked."""
    _ = ctx.t._
    assert staff.agency is not None
    commitments = await store.open_commitments(ctx.session, agency=staff.agency)
    back = _back(ctx)
    if not commitments:
        ctx.say(_("Your agency has no open commitments."), title=_("Our commitments"), buttons=back)
        return
    pages = (len(commitments) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    tickets = await store.tickets_of(
        ctx.session, question_ids=[c.question_id for c in commitments if c.question_id]
    )
    lines, rows = [], []
    for c in commitments[page * PAGE : (page + 1) * PAGE]:
        what = (
            f"#{tickets[c.question_id]}" if c.question_id in tickets else _("made at the dialogue")
        )
        label = f"{ctx.t.short_date(c.due_on)} · {what}"
        if c.due_on < ctx.today:
            label += " · " + _("⚠️ overdue")
        lines.append(f"{label}\n{excerpt(c.content, 90)}")
        rows.append([Button(label, btn.COMMITMENT.build(step="k", commitment=c.id))])
    nav = []
    if page > 0:
        nav.append(Button(_("◀️ Previous"), btn.COMMITMENTS_PAGE.build(page=page - 1)))
    if page < pages - 1:
        nav.append(Button(_("Next ▶️"), btn.COMMITMENTS_PAGE.build(page=page + 1)))
    if nav:
        rows.append(nav)
    rows += back
    ctx.say("\n\n".join(lines), title=_("Our commitments"), buttons=rows)


async def _commitment_card(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    _ = ctx.t._
    lines = []
    if commitment.question_id is not None:
        question = await ctx.session.get(Question, commitment.question_id)
        if question is not None:
            lines += [
                _("#{ticket}: “{excerpt}”").format(
                    ticket=question.ticket, excerpt=excerpt(question.text)
                ),
                "",
            ]
    else:
        dialogue = await ctx.session.get(Dialogue, commitment.dialogue_id)
        if dialogue is not None:
            lines += [
                _("Made at the dialogue: {title}").format(title=dialogue_title(ctx, dialogue)),
                "",
            ]
    lines += _commitment_lines(ctx, commitment)
    rows = []
    if commitment.status == CommitmentStatus.OPEN:
        rows += [
            [
                Button(
                    _("📝 Update progress"),
                    btn.COMMITMENT.build(step="kp", commitment=commitment.id),
                )
            ],
            [Button(_("✅ Fulfilled"), btn.COMMITMENT.build(step="kf", commitment=commitment.id))],
        ]
    rows.append([Button(_("📌 Our commitments"), btn.COMMITMENTS.build())])
    ctx.say("\n".join(lines), title=_("Commitment"), buttons=rows)


def _still_open(ctx: Context, commitment: Commitment) -> bool:
    if commitment.status == CommitmentStatus.OPEN:
        return True
    ctx.notice = ctx.t._("Already fulfilled.")
    ctx.say(ctx.t._("This commitment is already fulfilled."), buttons=_back(ctx))
    return False


async def _start_progress(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    if not _still_open(ctx, commitment):
        return
    _begin(ctx, "inbox.progress", commitment=commitment.id)
    low, high = PROGRESS_LIMITS
    ctx.say(
        ctx.t._(
            "What has been done so far? ({low}–{high} characters). It will go to the people "
            "who follow the question."
        ).format(low=low, high=high),
        buttons=[_cancel_row(ctx)],
    )


async def _progress_typed(ctx: Context, staff: Staff, text: str) -> None:
    if not _length_ok(ctx, text, PROGRESS_LIMITS):
        return
    ctx.state.data["text"] = text
    commitment = await ctx.session.get(Commitment, ctx.state.data["commitment"])
    assert commitment is not None
    draft = Commitment(
        content=commitment.content,
        due_on=commitment.due_on,
        responsible=commitment.responsible,
        status=CommitmentStatus.OPEN,
        progress=text,
    )
    ctx.say(
        "\n".join(commitment_lines(ctx.t, draft)),
        title=ctx.t._("Preview of the progress"),
        buttons=_preview_buttons(ctx),
    )


async def _publish_progress(ctx: Context, staff: Staff) -> None:
    commitment = await _own_commitment(ctx, staff, int(ctx.state.data["commitment"]), "progress")
    if commitment is None or not _still_open(ctx, commitment):
        ctx.clear_state()
        return
    await store.update_progress(
        ctx.session,
        commitment=commitment,
        staff=staff,
        progress=ctx.state.data["text"],
        now=ctx.now,
        today=ctx.today,
    )
    ctx.clear_state()
    count = await _push(ctx, commitment)
    _published(ctx, count, ctx.t._("The progress is published."))


async def _fulfil(ctx: Context, staff: Staff, commitment: Commitment) -> None:
    if not _still_open(ctx, commitment):
        return
    await store.fulfil(
        ctx.session, commitment=commitment, staff=staff, now=ctx.now, today=ctx.today
    )
    count = await _push(ctx, commitment)
    _published(ctx, count, ctx.t._("The commitment is marked as fulfilled."))


async def _push(ctx: Context, commitment: Commitment) -> int:
    if commitment.question_id is None:
        return 0
    question = await ctx.session.get(Question, commitment.question_id)
    if question is None:
        return 0
    return await publish_commitment(
        ctx.session,
        commitment=commitment,
        question=question,
        sealer=ctx.sealer,
        now=ctx.now,
        zone=ctx.zone,
        default_locale=ctx.default_locale,
    )


# Steps of a draft


async def _publish(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    name = ctx.state.name
    if name == "inbox.answer" and "text" in ctx.state.data:
        await _publish_answer(ctx, staff)
    elif name == "inbox.commit":
        await _publish_commitment(ctx, staff)
    elif name == "inbox.progress" and "text" in ctx.state.data:
        await _publish_progress(ctx, staff)
    else:
        _stale(ctx)


async def _rewrite(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    name = ctx.state.name
    ctx.state.data.pop("text", None)
    if name == "inbox.answer":
        _ask_answer(ctx)
    elif name == "inbox.commit":
        ctx.state.data["step"] = "content"
        await _ask_content(ctx, staff)
    elif name == "inbox.progress":
        commitment = await ctx.session.get(Commitment, ctx.state.data["commitment"])
        assert commitment is not None
        await _start_progress(ctx, staff, commitment)
    else:
        _stale(ctx)


async def _cancel(ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
    ctx.clear_state()
    ctx.say(ctx.t._("Cancelled. Nothing was published."), buttons=_back(ctx))


QUESTION_ACTIONS = {
    "q": _card,
    "a": _start_answer,
    "c": _start_commitment,
    "w": _choose_agency,
    "r": _start_in_room,
}
COMMITMENT_ACTIONS = {
    "k": _commitment_card,
    "kp": _start_progress,
    "kf": _fulfil,
}
DRAFT_ACTIONS = {
    "pub": _publish,
    "re": _rewrite,
    "x": _cancel,
    "d": _deadline_chosen,
    "ra": _responsible_is_agency,
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
    "inbox.answer": _answer_typed,
    "inbox.commit": _commitment_typed,
    "inbox.forward": _forward_note,
    "inbox.room": _summary_typed,
    "inbox.progress": _progress_typed,
}
