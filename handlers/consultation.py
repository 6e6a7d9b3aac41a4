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

Button data: "v:NONCE:ACTION[:ARG]" (built in `_data` only).
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers import ask
from handlers.context import Context
from handlers.menu import show_menu
from storage import consultations as store
from storage.links import household_of
from storage.models import Consultation, ConsultationResponse, Household

TEXT_MAX = 1000
SCALE = ("1", "2", "3", "4", "5")
START_PREFIX = "gopy_"  # the deep link: https://t.me/<bot>?start=gopy_<id>


def _data(nonce: str, action: str, arg: str | int = "") -> str:
    """The one place the flow's button data is built (the typed codec checks it)."""
    return btn.CONSULTATION.build(nonce=nonce, action=action, arg=str(arg) if arg != "" else None)


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


# --- who is answering ---------------------------------------------------------------------------


async def _household(ctx: Context) -> Household | None:
    return await household_of(ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id)


def _hash(ctx: Context, consultation_id: int) -> str:
    assert ctx.account is not None
    salt = ctx.account.asker_salt + f"consultation:{consultation_id}".encode()
    return ctx.sealer.asker_hash(salt, ctx.address)


async def _response(ctx: Context, consultation: Consultation) -> ConsultationResponse | None:
    return await store.response_of(
        ctx.session, consultation_id=consultation.id, respondent_hash=_hash(ctx, consultation.id)
    )


async def _ensure_response(ctx: Context, consultation: Consultation) -> ConsultationResponse:
    household = await _household(ctx)
    return await store.start_response(
        ctx.session,
        consultation_id=consultation.id,
        respondent_hash=_hash(ctx, consultation.id),
        reply_handle=ctx.sealer.seal(ctx.address),
        group=household.category if household else store.UNLINKED,
        ward=household.ward if household else "",
    )


# --- the questionnaire --------------------------------------------------------------------------


def applies(question: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Whether a question is asked, given the answers so far (its condition, if any)."""
    condition = question.get("if")
    if not condition:
        return True
    given = answers.get(condition["question"])
    if given is None:
        return False
    wanted = set(condition["values"])
    if isinstance(given, list):
        return bool(wanted & {str(g) for g in given})
    return str(given) in wanted


def asked(consultation: Consultation, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions asked of this person, in order."""
    return [q for q in consultation.questions if applies(q, answers)]


def kept_answers(consultation: Consultation, answers: dict[str, Any]) -> dict[str, Any]:
    """Only the answers to questions still asked (a changed answer may skip a later one)."""
    shown = {q["id"] for q in asked(consultation, answers)}
    return {k: v for k, v in answers.items() if k in shown}


def _first_open(consultation: Consultation, answers: dict[str, Any]) -> dict[str, Any] | None:
    for question in asked(consultation, answers):
        if question["id"] not in answers:
            return question
    return None


def _question(consultation: Consultation, key: str) -> dict[str, Any] | None:
    return next((q for q in consultation.questions if q["id"] == key), None)


def answer_text(ctx: Context, question: dict[str, Any], value: Any) -> str:
    _ = ctx.t._
    if value is None:
        return _("(skipped)")
    if isinstance(value, list):
        return ", ".join(value) if value else _("(none)")
    return str(value)


# --- entering -----------------------------------------------------------------------------------


async def begin(ctx: Context) -> None:
    """/gopy: the consultations open to this person."""
    _ = ctx.t._
    found = await store.open_for(ctx.session, now=ctx.now, household=await _household(ctx))
    if not found:
        ctx.clear_state()
        show_menu(
            ctx, _("No consultation is open for you at the moment. Thank you for your interest.")
        )
        return
    nonce = secrets.token_hex(3)
    ctx.state.name, ctx.state.data = "consult.pick", {"nonce": nonce}
    if len(found) == 1:
        await _intro(ctx, found[0])
        return
    ctx.say(
        _("Which consultation would you like to answer?"),
        title=_("Consultations"),
        buttons=[
            *[[Button(c.title[:60], _data(nonce, "c", c.id))] for c in found],
            [Button(_("❌ Cancel"), _data(nonce, "cancel"))],
        ],
    )


async def begin_for(ctx: Context, consultation_id: int) -> None:
    """The deep link (/start gopy_ID): straight to that consultation."""
    _ = ctx.t._
    consultation = await store.get_consultation(ctx.session, consultation_id=consultation_id)
    if consultation is None or not store.is_open(consultation, ctx.now):
        show_menu(ctx, _("This consultation is not taking answers now."))
        return
    if not store.is_for(consultation, await _household(ctx)):
        show_menu(
            ctx,
            _(
                "This consultation is for the households of {wards}. If you live there, link "
                "your household first (🏠 in the menu)."
            ).format(wards=", ".join(consultation.audience.get("wards") or []) or "–"),
        )
        return
    ctx.state.name, ctx.state.data = "consult.pick", {"nonce": secrets.token_hex(3)}
    await _intro(ctx, consultation)


async def _intro(ctx: Context, consultation: Consultation) -> None:
    _ = ctx.t._
    data = ctx.state.data
    data["c"] = consultation.id
    ctx.state.name = "consult.intro"
    nonce = data["nonce"]
    response = await _response(ctx, consultation)
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
        go = Button(_("✏️ Change my answers"), _data(nonce, "go"))
    elif response is not None and response.answers:
        go = Button(_("▶️ Continue"), _data(nonce, "go"))
    else:
        go = Button(_("▶️ Start"), _data(nonce, "go"))
    ctx.say(
        "\n\n".join(lines),
        title=consultation.title,
        buttons=[[go], [Button(_("❌ Cancel"), _data(nonce, "cancel"))]],
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
    return consultation, await _ensure_response(ctx, consultation)


def _show_question(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, key: str
) -> None:
    _ = ctx.t._
    data = ctx.state.data
    nonce = data["nonce"]
    answers = response.answers or {}
    questions = asked(consultation, answers)
    question = _question(consultation, key)
    assert question is not None
    ctx.state.name = "consult.q"
    data["q"] = key
    keys = [q["id"] for q in questions]
    position = keys.index(key) + 1 if key in keys else len(keys)
    # What follows this question may change with its answer: count at least one more.
    total = max(len(keys), position)
    current = answers.get(key)
    lines = [
        _("Question {number}/{total}").format(number=position, total=total),
        "",
        question["text"],
    ]
    rows: list[list[Button]] = []
    kind = question["type"]
    if kind == "single":
        rows = [
            [Button(("✅ " if current == choice else "") + choice, _data(nonce, "a", i))]
            for i, choice in enumerate(question["choices"])
        ]
    elif kind == "multiple":
        if "picked" not in data:
            data["picked"] = list(current) if isinstance(current, list) else []
        picked = data["picked"]
        lines += ["", _("Choose all that apply, then press “Done”.")]
        rows = [
            [Button(("☑️ " if choice in picked else "⬜ ") + choice, _data(nonce, "m", i))]
            for i, choice in enumerate(question["choices"])
        ]
        rows.append([Button(_("✔️ Done"), _data(nonce, "done"))])
    elif kind == "scale":
        low = question.get("low") or _("not at all")
        high = question.get("high") or _("completely")
        lines += ["", _("1 = {low}, 5 = {high}").format(low=low, high=high)]
        rows = [
            [Button(("✅" if str(current) == n else "") + n, _data(nonce, "a", n)) for n in SCALE]
        ]
    else:
        lines += [
            "",
            _("Please write your answer in one message (at most {max} characters).").format(
                max=TEXT_MAX
            ),
        ]
        if isinstance(current, str) and current:
            lines += ["", _("Your answer so far: {text}").format(text=current)]
            rows.append([Button(_("➡️ Keep this answer"), _data(nonce, "keep"))])
    if current is not None and kind in ("single", "scale"):
        lines += [
            "",
            _("Your answer so far: {text}").format(text=answer_text(ctx, question, current)),
        ]
    nav = []
    if position > 1:
        nav.append(Button(_("⬅️ Back"), _data(nonce, "back")))
    if not question.get("required", True):
        nav.append(Button(_("⏭ Skip"), _data(nonce, "skip")))
    if nav:
        rows.append(nav)
    rows.append([Button(_("⏸ Continue later"), _data(nonce, "later"))])
    ctx.say("\n".join(lines), title=consultation.title, buttons=rows)


def _show_review(ctx: Context, consultation: Consultation, response: ConsultationResponse) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    ctx.state.name = "consult.review"
    answers = response.answers or {}
    lines = []
    for number, question in enumerate(asked(consultation, answers), start=1):
        lines.append(
            f"{number}. {question['text']}\n→ {answer_text(ctx, question, answers.get(question['id']))}"
        )
    ctx.say(
        "\n\n".join(lines),
        title=_("Please check your answers"),
        buttons=[
            [Button(_("✅ Send"), _data(nonce, "send"))],
            [
                Button(_("⬅️ Back"), _data(nonce, "back")),
                Button(_("⏸ Continue later"), _data(nonce, "later")),
            ],
        ],
    )


async def _next(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, after: str | None
) -> None:
    """The question after `after` (the first not yet answered when None), or the review."""
    answers = response.answers or {}
    questions = asked(consultation, answers)
    if after is None:
        question = _first_open(consultation, answers)
    else:
        keys = [q["id"] for q in questions]
        following = questions[keys.index(after) + 1 :] if after in keys else []
        question = following[0] if following else None
    ctx.state.data.pop("picked", None)
    if question is None:
        _show_review(ctx, consultation, response)
    else:
        _show_question(ctx, consultation, response, question["id"])


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
    _ = ctx.t._
    if len(parts) == 3 and parts[0] == "-" and parts[1] == "open" and small_number(parts[2]):
        # The announcement's button: a flow of its own.
        await begin_for(ctx, int(parts[2]))
        return
    if len(parts) not in (2, 3):
        await stale(ctx)
        return
    nonce, action = parts[0], parts[1]
    arg = parts[2] if len(parts) == 3 else ""
    state, data = ctx.state, ctx.state.data
    if not state.name.startswith("consult.") or data.get("nonce") != nonce:
        await stale(ctx)
        return
    if action == "cancel" and state.name == "consult.done":
        ctx.clear_state()
        show_menu(ctx)
        return
    if action == "cancel":
        ctx.clear_state()
        ctx.notice = _("Cancelled")
        show_menu(ctx, _("Cancelled."))
        return
    if action == "c" and state.name == "consult.pick" and small_number(arg):
        found = await store.open_for(ctx.session, now=ctx.now, household=await _household(ctx))
        chosen = next((c for c in found if c.id == int(arg)), None)
        if chosen is None:
            ctx.say(_("This consultation is not taking answers now."))
            await begin(ctx)
            return
        await _intro(ctx, chosen)
        return
    if "c" not in data:
        await stale(ctx)
        return
    loaded = await _load(ctx)
    if loaded is None:
        return
    consultation, response = loaded
    answers = response.answers or {}
    if action == "later":
        ctx.clear_state()
        ctx.notice = _("Saved")
        show_menu(
            ctx,
            _("Your answers so far are kept. Type /gopy to continue before {when}.").format(
                when=ctx.t.datetime(consultation.closes_at)
            ),
        )
        return
    if action == "go" and state.name == "consult.intro":
        if response.submitted:
            first = asked(consultation, answers)[0]["id"]
            _show_question(ctx, consultation, response, first)
        else:
            await _next(ctx, consultation, response, None)
        return
    if action == "ask" and state.name == "consult.done":
        await _as_question(ctx, consultation, response, arg)
        return
    if action == "send" and state.name == "consult.review":
        await _send(ctx, consultation, response)
        return
    if action == "back":
        await _back(ctx, consultation, response)
        return
    if state.name != "consult.q":
        await stale(ctx)
        return
    question = _question(consultation, data.get("q", ""))
    if question is None:
        await stale(ctx)
        return
    kind = question["type"]
    if (
        action == "a"
        and kind == "single"
        and small_number(arg)
        and int(arg) < len(question["choices"])
    ):
        await _record(ctx, consultation, response, question["id"], question["choices"][int(arg)])
    elif action == "a" and kind == "scale" and arg in SCALE:
        await _record(ctx, consultation, response, question["id"], int(arg))
    elif (
        action == "m"
        and kind == "multiple"
        and small_number(arg)
        and int(arg) < len(question["choices"])
    ):
        choice = question["choices"][int(arg)]
        # A new list (never changed in place): the dispatcher saves the state when it differs.
        before = set(data.get("picked") or [])
        after = before - {choice} if choice in before else before | {choice}
        data["picked"] = [c for c in question["choices"] if c in after]
        _show_question(ctx, consultation, response, question["id"])
    elif action == "done" and kind == "multiple":
        picked = data.get("picked") or []
        if not picked and question.get("required", True):
            ctx.notice = _("Please choose at least one.")
            _show_question(ctx, consultation, response, question["id"])
            return
        await _record(ctx, consultation, response, question["id"], list(picked))
    elif action == "keep" and kind == "text" and answers.get(question["id"]):
        await _next(ctx, consultation, response, question["id"])
    elif action == "skip" and not question.get("required", True):
        await _record(ctx, consultation, response, question["id"], None)
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
        _show_question(ctx, consultation, response, target)


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
    loaded = await _load(ctx)
    if loaded is None:
        return
    consultation, response = loaded
    question = _question(consultation, ctx.state.data.get("q", ""))
    if question is None:
        await stale(ctx)
        return
    if question["type"] != "text":
        ctx.say(_("Please answer with the buttons below."))
        _show_question(ctx, consultation, response, question["id"])
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


async def _send(ctx: Context, consultation: Consultation, response: ConsultationResponse) -> None:
    _ = ctx.t._
    answers = kept_answers(consultation, response.answers or {})
    missing = [
        q
        for q in asked(consultation, answers)
        if q.get("required", True) and answers.get(q["id"]) in (None, [], "")
    ]
    if missing:
        ctx.say(_("Some questions still need an answer."))
        _show_question(ctx, consultation, response, missing[0]["id"])
        return
    # The group counted is the person's when they send (they may have linked their household
    # since they started).
    household = await _household(ctx)
    response.group = household.category if household else store.UNLINKED
    response.ward = household.ward if household else ""
    first = await store.submit(
        ctx.session,
        response=response,
        answers=answers,
        text_questions=[q["id"] for q in consultation.questions if q["type"] == "text"],
        on=ctx.today,
    )
    nonce = ctx.state.data["nonce"]
    ctx.clear_state()
    ctx.notice = _("Sent")
    # An opinion in words may also go to the dialogue as a question, if the person wants.
    offers = [
        q["id"]
        for q in asked(consultation, answers)
        if q["type"] == "text" and len(str(answers.get(q["id"]) or "")) >= ask.MIN_LENGTH
    ]
    buttons = []
    if offers:
        ctx.state.name, ctx.state.data = "consult.done", {"nonce": nonce, "c": consultation.id}
        buttons = [
            [
                Button(
                    _("✍️ Also send my opinion as a question to the dialogue"),
                    _data(nonce, "ask", offers[0]),
                )
            ],
            [Button(_("No, thank you"), _data(nonce, "cancel"))],
        ]
    ctx.say(
        (
            _("Thank you! Your answers were received anonymously.")
            if first
            else _("Your changed answers were received.")
        )
        + "\n"
        + _(
            "You can change them with /gopy until {when}. You will be told which opinions were adopted."
        ).format(when=ctx.t.datetime(consultation.closes_at)),
        title=consultation.title,
        buttons=buttons,
    )
    if not offers:
        show_menu(ctx)


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
    loaded = await _load(ctx)
    if loaded is None:
        return
    consultation, response = loaded
    if ctx.state.name == "consult.intro":
        await _intro(ctx, consultation)
    elif ctx.state.name == "consult.review":
        _show_review(ctx, consultation, response)
    else:
        _show_question(
            ctx, consultation, response, data.get("q") or consultation.questions[0]["id"]
        )


async def stale(ctx: Context) -> None:
    _ = ctx.t._
    ctx.notice = _("This button is out of date.")
    if ctx.state.name.startswith("consult."):
        ctx.say(_("That button is from an earlier message. Here is where you are:"))
        await show_step(ctx)
    else:
        show_menu(ctx, _("That button is from an earlier message. What would you like to do?"))


async def forget(ctx: Context) -> None:
    """/xoa: the person's responses stay, counted, but nothing leads back to them any more
    (called before the account and its salt are deleted)."""
    ids = await store.consultation_ids(ctx.session)
    await store.forget_respondent(ctx.session, hashes=[_hash(ctx, cid) for cid in ids])
