"""Answering a consultation (/gopy, /consult, or its deep link): one question per message.

| state          | waits for                                   | next                            |
|----------------|---------------------------------------------|---------------------------------|
| consult.pick   | a consultation button (several open)        | consult.intro                   |
| consult.intro  | start / continue / change my answers        | consult.q                       |
| consult.q      | a choice button, 1-5, typed text; back/skip | consult.q, or consult.review    |
| consult.review | send / back / later                         | receipt (state cleared)         |

The answers are written to the person's response as they go (it holds no account: a keyed
hash finds it again), so "later" keeps them and /gopy resumes at the first question left;
a sent response can be changed until the consultation closes. Every button carries the flow's
nonce: a button of an earlier flow is recognised as stale.

Button data: "v:NONCE:ACTION[:ARG]" (built in `screens.button_data` only). The questionnaire's rules are
in questionnaire.py, what a person sees of a question in screens.py.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from bot.core.messages import Button
from handlers import ask, drafts
from handlers.consultation.questionnaire import (
    asked,
    first_open,
    kept_answers,
    question_of,
)
from handlers.consultation.respondent import (
    ensure_response,
    household_now,
    respondent_hash,
    response_of,
)
from handlers.consultation.screens import SCALE, TEXT_MAX, button_data, show_question, show_review
from handlers.consultation.sending import send
from handlers.context import Context
from handlers.menu import show_menu
from storage import consultations as store
from storage.models import Consultation, ConsultationResponse

START_PREFIX = "gopy_"  # the deep link: https://t.me/<bot>?start=gopy_<id>


def small_number(text: str) -> bool:
    """A number a button may carry (an id): ASCII digits, at most 9 of them."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def start_code(consultation_id: int) -> str:
    return f"{START_PREFIX}{consultation_id}"


def code_target(code: str) -> int | None:
    """The consultation a /start code names, if it is one of ours."""
    code = code.strip().lower()
    if code.startswith(START_PREFIX) and small_number(code[len(START_PREFIX) :]):
        number = int(code[len(START_PREFIX) :])
        return number if number > 0 else None
    return None


# --- entering -----------------------------------------------------------------------------------


async def begin(ctx: Context) -> None:
    """/gopy: the consultations open to this person."""
    _ = ctx.t._
    found = await store.open_for(ctx.session, now=ctx.now, household=await household_now(ctx))
    if not found:
        ctx.clear_state()
        show_menu(
            ctx, _("No consultation is open for you at the moment. Thank you for your interest.")
        )
        return
    nonce = drafts.begin(ctx, "consult.pick")
    if len(found) == 1:
        await _intro(ctx, found[0])
        return
    ctx.say(
        _("Which consultation would you like to answer?"),
        title=_("Consultations"),
        buttons=[
            *[[Button(c.title[:60], button_data(nonce, "c", c.id))] for c in found],
            [Button(_("❌ Cancel"), button_data(nonce, "cancel"))],
        ],
    )


async def begin_for(ctx: Context, consultation_id: int) -> None:
    """The deep link (/start gopy_ID): straight to that consultation."""
    _ = ctx.t._
    consultation = await store.get_consultation(ctx.session, consultation_id=consultation_id)
    if consultation is None or not store.is_open(consultation, ctx.now):
        show_menu(ctx, _("This consultation is not taking answers now."))
        return
    if not store.is_for(consultation, await household_now(ctx)):
        show_menu(
            ctx,
            _(
                "This consultation is for the households of {wards}. If you live there, link "
                "your household first (🏠 in the menu)."
            ).format(wards=", ".join(consultation.audience.get("wards") or []) or "–"),
        )
        return
    drafts.begin(ctx, "consult.pick")
    await _intro(ctx, consultation)


async def _intro(ctx: Context, consultation: Consultation) -> None:
    _ = ctx.t._
    data = ctx.state.data
    data["c"] = consultation.id
    ctx.state.name = "consult.intro"
    nonce = data["nonce"]
    response = await response_of(ctx, consultation)
    lines = []
    if consultation.purpose:
        lines.append(consultation.purpose)
    if consultation.policy:
        policy = consultation.policy
        lines.append(policy if len(policy) <= 600 else policy[:599].rsplit(" ", 1)[0] + "…")
    if consultation.link:
        lines.append(_("Full text: {link}").format(link=consultation.link))
    lines.append(
        _(
            "{count} questions, a few minutes. Your answers are anonymous. Open until {when}."
        ).format(count=len(consultation.questions), when=ctx.t.datetime(consultation.closes_at))
    )
    if response is not None and response.submitted:
        lines.append(
            _("You sent your answers on {date}. You can change them until it closes.").format(
                date=ctx.t.short_date(response.submitted_on or ctx.today)
            )
        )
        go = Button(_("✏️ Change my answers"), button_data(nonce, "go"))
    elif response is not None and response.answers:
        go = Button(_("▶️ Continue"), button_data(nonce, "go"))
    else:
        go = Button(_("▶️ Start"), button_data(nonce, "go"))
    ctx.say(
        "\n\n".join(lines),
        title=consultation.title,
        buttons=[[go], [Button(_("❌ Cancel"), button_data(nonce, "cancel"))]],
    )


# --- one question -------------------------------------------------------------------------------


async def _load(ctx: Context) -> tuple[Consultation, ConsultationResponse] | None:
    """The consultation of the flow and the person's response; None (said) if it closed."""
    _ = ctx.t._
    consultation = await store.get_consultation(ctx.session, consultation_id=ctx.state.data["c"])
    if consultation is None or not store.is_open(consultation, ctx.now):
        ctx.clear_state()
        show_menu(ctx, _("This consultation has closed: answers can no longer be changed."))
        return None
    return consultation, await ensure_response(ctx, consultation)


async def _next(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, after: str | None
) -> None:
    """The question after `after` (the first not yet answered when None), or the review."""
    answers = response.answers or {}
    questions = asked(consultation, answers)
    if after is None:
        question = first_open(consultation, answers)
    else:
        keys = [q["id"] for q in questions]
        following = questions[keys.index(after) + 1 :] if after in keys else []
        question = following[0] if following else None
    ctx.state.data.pop("picked", None)
    if question is None:
        show_review(ctx, consultation, response)
    else:
        show_question(ctx, consultation, response, question["id"])


async def _record(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, key: str, value: Any
) -> None:
    answers = dict(response.answers or {})
    answers[key] = value
    await store.save_answers(
        ctx.session, response=response, answers=kept_answers(consultation, answers) | {key: value}
    )
    await _next(ctx, consultation, response, key)


async def on_button(ctx: Context, parts: list[str]) -> None:
    """v:<nonce>:<action>[:<arg>]: a button of the consultation flow."""
    if len(parts) == 3 and parts[0] == "-" and parts[1] == "open" and small_number(parts[2]):
        # The announcement's button: a flow of its own.
        await begin_for(ctx, int(parts[2]))
        return
    state = ctx.state
    if (
        len(parts) not in (2, 3)
        or not state.name.startswith("consult.")
        or state.data.get("nonce") != parts[0]
    ):
        await stale(ctx)
        return
    action, arg = parts[1], parts[2] if len(parts) == 3 else ""
    if await _leave_or_pick(ctx, action, arg):
        return
    if "c" not in state.data:
        await stale(ctx)
        return
    if (loaded := await _load(ctx)) is None:
        return
    consultation, response = loaded
    if await _flow_button(ctx, consultation, response, action, arg):
        return
    question = question_of(consultation, state.data.get("q", ""))
    if state.name != "consult.q" or question is None:
        await stale(ctx)
        return
    await _answer_button(ctx, consultation, response, question, action, arg)


async def _leave_or_pick(ctx: Context, action: str, arg: str) -> bool:
    """Cancel, or a consultation chosen among several; whether the button was one of them."""
    _ = ctx.t._
    if action == "cancel" and ctx.state.name == "consult.done":
        ctx.clear_state()
        show_menu(ctx)
    elif action == "cancel":
        ctx.clear_state()
        ctx.notice = _("Cancelled")
        show_menu(ctx, _("Cancelled."))
    elif action == "c" and ctx.state.name == "consult.pick" and small_number(arg):
        found = await store.open_for(ctx.session, now=ctx.now, household=await household_now(ctx))
        chosen = next((c for c in found if c.id == int(arg)), None)
        if chosen is None:
            ctx.say(_("This consultation is not taking answers now."))
            await begin(ctx)
        else:
            await _intro(ctx, chosen)
    else:
        return False
    return True


async def _flow_button(
    ctx: Context,
    consultation: Consultation,
    response: ConsultationResponse,
    action: str,
    arg: str,
) -> bool:
    """Later, start, send, back, a question after the receipt; whether it was one of them."""
    _ = ctx.t._
    name = ctx.state.name
    if action == "later":
        ctx.clear_state()
        ctx.notice = _("Saved")
        show_menu(
            ctx,
            _("Your answers so far are kept. Type /gopy to continue before {when}.").format(
                when=ctx.t.datetime(consultation.closes_at)
            ),
        )
    elif action == "go" and name == "consult.intro":
        if response.submitted:
            first = asked(consultation, response.answers or {})[0]["id"]
            show_question(ctx, consultation, response, first)
        else:
            await _next(ctx, consultation, response, None)
    elif action == "ask" and name == "consult.done":
        await _as_question(ctx, consultation, response, arg)
    elif action == "send" and name == "consult.review":
        await send(ctx, consultation, response)
    elif action == "back":
        await _back(ctx, consultation, response)
    else:
        return False
    return True


def _choice(question: dict[str, Any], arg: str) -> str | None:
    """The choice of the button's number, if the question has it."""
    if small_number(arg) and int(arg) < len(question["choices"]):
        return question["choices"][int(arg)]
    return None


async def _answer_button(
    ctx: Context,
    consultation: Consultation,
    response: ConsultationResponse,
    question: dict[str, Any],
    action: str,
    arg: str,
) -> None:
    """An answer to the question shown: a choice, a scale point, Done, Keep or Skip."""
    data = ctx.state.data
    kind, key = question["type"], question["id"]
    if action == "a" and kind == "single" and _choice(question, arg) is not None:
        await _record(ctx, consultation, response, key, _choice(question, arg))
    elif action == "a" and kind == "scale" and arg in SCALE:
        await _record(ctx, consultation, response, key, int(arg))
    elif action == "m" and kind == "multiple" and _choice(question, arg) is not None:
        choice = _choice(question, arg)
        # A new list (never changed in place): the dispatcher saves the state when it differs.
        before = set(data.get("picked") or [])
        after = before - {choice} if choice in before else before | {choice}
        data["picked"] = [c for c in question["choices"] if c in after]
        show_question(ctx, consultation, response, key)
    elif action == "done" and kind == "multiple":
        picked = data.get("picked") or []
        if not picked and question.get("required", True):
            ctx.notice = ctx.t._("Please choose at least one.")
            show_question(ctx, consultation, response, key)
            return
        await _record(ctx, consultation, response, key, list(picked))
    elif action == "keep" and kind == "text" and (response.answers or {}).get(key):
        await _next(ctx, consultation, response, key)
    elif action == "skip" and not question.get("required", True):
        await _record(ctx, consultation, response, key, None)
    else:
        await stale(ctx)


async def _back(ctx: Context, consultation: Consultation, response: ConsultationResponse) -> None:
    answers = response.answers or {}
    keys = [q["id"] for q in asked(consultation, answers)]
    if ctx.state.name == "consult.review":
        target = keys[-1] if keys else None
    else:
        current = ctx.state.data.get("q", "")
        index = keys.index(current) if current in keys else len(keys)
        target = keys[index - 1] if index > 0 else None
    ctx.state.data.pop("picked", None)
    if target is None:
        await _intro(ctx, consultation)
    else:
        show_question(ctx, consultation, response, target)


async def on_text(ctx: Context) -> None:
    """Typed text: the answer to a free-text question; elsewhere, a pointer to the buttons."""
    _ = ctx.t._
    if ctx.state.name == "consult.done":
        ctx.clear_state()
        show_menu(ctx, _('To send a question, press "Send a question" below or type /hoi.'))
        return
    if ctx.state.name != "consult.q" or "c" not in ctx.state.data:
        ctx.say(_("Please answer with the buttons below."))
        await show_step(ctx)
        return
    if (loaded := await _load(ctx)) is None:
        return
    consultation, response = loaded
    question = question_of(consultation, ctx.state.data.get("q", ""))
    if question is None:
        await stale(ctx)
        return
    if question["type"] != "text":
        ctx.say(_("Please answer with the buttons below."))
        show_question(ctx, consultation, response, question["id"])
        return
    # NFC, and no control characters but line breaks: what a person typed, safe to store.
    text = unicodedata.normalize("NFC", ctx.incoming.text)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C").strip()
    if not text:
        ctx.say(_("Your message was empty. Please write your answer in words."))
        return
    if len(text) > TEXT_MAX:
        ctx.say(
            _(
                "That is too long: {count} characters, at most {max}. Please send a shorter answer."
            ).format(count=len(text), max=TEXT_MAX)
        )
        return
    await _record(ctx, consultation, response, question["id"], text)


async def _as_question(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, key: str
) -> None:
    """The opinion in words becomes the draft of a question (/hoi): the person still chooses
    the topic and whether it is anonymous, and confirms."""
    text = (response.answers or {}).get(key)
    if not isinstance(text, str) or len(text) < ask.MIN_LENGTH:
        await stale(ctx)
        return
    ctx.clear_state()
    await ask._fresh(ctx)  # the ask flow, its draft holding the opinion
    ctx.state.data["text"] = text[: ask.MAX_LENGTH * 4]


async def show_step(ctx: Context) -> None:
    """Show again where the person is (after a stale button or an unexpected message)."""
    data = ctx.state.data
    if ctx.state.name == "consult.done":
        ctx.clear_state()
        show_menu(ctx)
        return
    if ctx.state.name == "consult.pick" or "c" not in data:
        await begin(ctx)
        return
    if (loaded := await _load(ctx)) is None:
        return
    consultation, response = loaded
    if ctx.state.name == "consult.intro":
        await _intro(ctx, consultation)
    elif ctx.state.name == "consult.review":
        show_review(ctx, consultation, response)
    else:
        show_question(ctx, consultation, response, data.get("q") or consultation.questions[0]["id"])


async def stale(ctx: Context) -> None:
    """A button from an earlier message: say so, and show where the person is now."""
    await drafts.stale(ctx, "consult.", show_step)


async def forget(ctx: Context) -> None:
    """/xoa: the person's responses stay, counted, but nothing leads back to them any more
    (called before the account and its salt are deleted)."""
    ids = await store.consultation_ids(ctx.session)
    await store.forget_respondent(ctx.session, hashes=[respondent_hash(ctx, cid) for cid in ids])
