"""Sending the answers of a consultation: checked complete, submitted, and the receipt, which
may offer to send an opinion in words to the dialogue as a question."""

from __future__ import annotations

from bot.core.messages import Button
from handlers import ask
from handlers.consultation.questionnaire import asked, kept_answers
from handlers.consultation.respondent import household_now
from handlers.consultation.screens import button_data, show_question
from handlers.context import Context
from handlers.menu import show_menu
from storage import consultations as store
from storage.models import Consultation, ConsultationResponse


async def send(ctx: Context, consultation: Consultation, response: ConsultationResponse) -> None:
    _ = ctx.t._
    answers = kept_answers(consultation, response.answers or {})
    missing = [
        q
        for q in asked(consultation, answers)
        if q.get("required", True) and answers.get(q["id"]) in (None, [], "")
    ]
    if missing:
        ctx.say(_("Some questions still need an answer."))
        show_question(ctx, consultation, response, missing[0]["id"])
        return
    # The group counted is the person's when they send (they may have linked their household
    # since they started).
    household = await household_now(ctx)
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
    offers = _receipt(ctx, consultation, answers, nonce, first=first)
    if not offers:
        show_menu(ctx)


def _receipt(
    ctx: Context, consultation: Consultation, answers: dict, nonce: str, *, first: bool
) -> list[str]:
    """Thanks, and the offer to send an opinion in words as a question (the keys offered)."""
    _ = ctx.t._
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
                    button_data(nonce, "ask", offers[0]),
                )
            ],
            [Button(_("No, thank you"), button_data(nonce, "cancel"))],
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
    return offers
