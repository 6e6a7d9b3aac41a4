"""What a person answering a consultation sees: one question, with its buttons, and the review
of the answers before they are sent."""

from __future__ import annotations

from typing import Any

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers.consultation.questionnaire import answer_text, asked, question_of
from handlers.context import Context
from storage.models import Consultation, ConsultationResponse

TEXT_MAX = 1000
SCALE = ("1", "2", "3", "4", "5")


def button_data(nonce: str, action: str, arg: str | int = "") -> str:
    """The one place the flow's button data is built (the typed codec checks it)."""
    return btn.CONSULTATION.build(nonce=nonce, action=action, arg=str(arg) if arg != "" else None)


def show_question(
    ctx: Context, consultation: Consultation, response: ConsultationResponse, key: str
) -> None:
    _ = ctx.t._
    data = ctx.state.data
    nonce = data["nonce"]
    answers = response.answers or {}
    questions = asked(consultation, answers)
    question = question_of(consultation, key)
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
    rows = _answer_rows(ctx, question, current, lines)
    nav = []
    if position > 1:
        nav.append(Button(_("⬅️ Back"), button_data(nonce, "back")))
    if not question.get("required", True):
        nav.append(Button(_("⏭ Skip"), button_data(nonce, "skip")))
    if nav:
        rows.append(nav)
    rows.append([Button(_("⏸ Continue later"), button_data(nonce, "later"))])
    ctx.say("\n".join(lines), title=consultation.title, buttons=rows)


def show_review(ctx: Context, consultation: Consultation, response: ConsultationResponse) -> None:
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
            [Button(_("✅ Send"), button_data(nonce, "send"))],
            [
                Button(_("⬅️ Back"), button_data(nonce, "back")),
                Button(_("⏸ Continue later"), button_data(nonce, "later")),
            ],
        ],
    )


def _answer_rows(
    ctx: Context, question: dict[str, Any], current: Any, lines: list[str]
) -> list[list[Button]]:
    """The buttons to answer the question by its kind; what to read about them joins `lines`."""
    _ = ctx.t._
    data = ctx.state.data
    nonce = data["nonce"]
    rows: list[list[Button]] = []
    kind = question["type"]
    if kind == "single":
        rows = [
            [Button(("✅ " if current == choice else "") + choice, button_data(nonce, "a", i))]
            for i, choice in enumerate(question["choices"])
        ]
    elif kind == "multiple":
        if "picked" not in data:
            data["picked"] = list(current) if isinstance(current, list) else []
        picked = data["picked"]
        lines += ["", _("Choose all that apply, then press “Done”.")]
        rows = [
            [Button(("☑️ " if choice in picked else "⬜ ") + choice, button_data(nonce, "m", i))]
            for i, choice in enumerate(question["choices"])
        ]
        rows.append([Button(_("✔️ Done"), button_data(nonce, "done"))])
    elif kind == "scale":
        low = question.get("low") or _("not at all")
        high = question.get("high") or _("completely")
        lines += ["", _("1 = {low}, 5 = {high}").format(low=low, high=high)]
        rows = [
            [
                Button(("✅" if str(current) == n else "") + n, button_data(nonce, "a", n))
                for n in SCALE
            ]
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
            rows.append([Button(_("➡️ Keep this answer"), button_data(nonce, "keep"))])
    if current is not None and kind in ("single", "scale"):
        lines += [
            "",
            _("Your answer so far: {text}").format(text=answer_text(ctx, question, current)),
        ]
    return rows
