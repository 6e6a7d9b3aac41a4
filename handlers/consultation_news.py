"""A consultation's news in words: its announcement, the adoption decisions (tiếp thu) and the
digest's lines. bot/services/consultations.py sends them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.consultation_results import GROUP_NAMES
from bot.core import buttons as btn
from bot.core.i18n import Translator
from bot.core.messages import Button, Reply
from handlers.decisions import DECISION_NAMES
from storage import consultations as store
from storage.models import Consultation, ConsultationTheme


def open_button_data(consultation_id: int) -> str:
    """The announcement's button: starts the flow (see handlers.consultation.on_button)."""
    return btn.CONSULTATION.build(nonce="-", action="open", arg=str(consultation_id))


def announcement(t: Translator, consultation: Consultation) -> Reply:
    lines = []
    if consultation.purpose:
        lines.append(consultation.purpose)
    lines.append(
        t._(
            "{count} questions, a few minutes, anonymous. Please answer before {when}: press the "
            "button below or type /gopy."
        ).format(count=len(consultation.questions), when=t.datetime(consultation.closes_at))
    )
    return Reply(
        title=t._("Your opinion is asked: {title}").format(title=consultation.title),
        text="\n\n".join(lines),
        buttons=((Button(t._("📝 Give my opinion"), open_button_data(consultation.id)),),),
    )


def decisions_text(
    t: Translator, themes: list[ConsultationTheme], counts: dict[int | None, int]
) -> str:
    lines = []
    for theme in themes:
        if theme.decision is None:
            continue
        line = t._("• {theme} ({count} opinions): {decision}").format(
            theme=theme.name,
            count=counts.get(theme.id, 0),
            decision=t._(DECISION_NAMES[theme.decision]),
        )
        if theme.change:
            line += "\n  " + t._("What changes: {change}").format(change=theme.change)
        if theme.reason:
            line += "\n  " + t._("Why: {reason}").format(reason=theme.reason)
        lines.append(line)
    return "\n".join(lines)


async def digest_lines(session: AsyncSession, *, t: Translator, ward: str, now: datetime) -> str:
    """The facilitators' digest: responses per open consultation of the ward against targets
    ("" when none is open)."""
    taking = [
        c
        for c in await store.list_consultations(session)
        if store.is_open(c, now)
        and (not (c.audience or {}).get("wards") or ward in c.audience["wards"])
    ]
    if not taking:
        return ""
    counts = await store.response_counts(session)
    lines = ["", "", t._("📝 Open consultations (responses / target):")]
    for c in taking:
        got = sum(counts.get(c.id, {}).values())
        target = sum(c.targets.values())
        lines.append(
            "  • "
            + t._("{title}: {count} / {target}, until {date}").format(
                title=c.title, count=got, target=target or "–", date=t.short_date(c.closes_at)
            )
        )
        short = [g for g, n in c.targets.items() if counts.get(c.id, {}).get(g, 0) < n]
        if short and target:
            lines.append(
                "    "
                + t._("under target: {groups}").format(
                    groups=", ".join(t._(GROUP_NAMES.get(g, g)) for g in short)
                )
            )
    return "\n".join(lines)
