"""The questionnaire of a consultation, as rules: which questions are asked of a person given
their answers so far, and how an answer reads."""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from storage.models import Consultation


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


def first_open(consultation: Consultation, answers: dict[str, Any]) -> dict[str, Any] | None:
    for question in asked(consultation, answers):
        if question["id"] not in answers:
            return question
    return None


def question_of(consultation: Consultation, key: str) -> dict[str, Any] | None:
    return next((q for q in consultation.questions if q["id"] == key), None)


def answer_text(ctx: Context, question: dict[str, Any], value: Any) -> str:
    _ = ctx.t._
    if value is None:
        return _("(skipped)")
    if isinstance(value, list):
        return ", ".join(value) if value else _("(none)")
    return str(value)
