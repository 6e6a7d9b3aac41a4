"""A consultation's news, through the outbox: its announcement to the linked households of the
audience, and the adoption decisions (tiếp thu) to everyone who answered.

The announcement's key names the household ("consult:ID:HOUSEHOLD"), so running `open` again
sends only to households linked since. The decisions go through each respondent's sealed handle
under a keyed-hash key ("sealed:cID:…") that names no one, once per set of decisions; once sent,
such a row keeps neither its text nor its recipient.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.consultation_results import GROUP_NAMES
from bot.core import buttons as btn
from bot.core.anonymity import Sealer
from bot.core.i18n import Translator, choose
from bot.core.messages import Button, Reply
from handlers.decisions import DECISION_NAMES
from storage import accounts
from storage import consultations as store
from storage.models import Consultation, ConsultationTheme
from storage.outbox import PRIORITY_BROADCAST, PRIORITY_REPLY, SEALED, Outgoing, enqueue_many

log = logging.getLogger(__name__)


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


async def announce(
    session: AsyncSession,
    *,
    consultation: Consultation,
    now: datetime,
    zone: ZoneInfo,
    default_locale: str,
) -> tuple[int, int]:
    """Queue the announcement to every linked household of the audience not told yet (its
    priority groups first), in the language of its chat; (new messages, households)."""
    recipients = await store.audience_chats(session, consultation=consultation)
    translators: dict[str, Translator] = {}
    messages = []
    for r in recipients:
        locale = choose(r.locale, default_locale)
        t = translators.setdefault(locale, Translator(locale, zone))
        messages.append(
            Outgoing(
                key=f"consult:{consultation.id}:{r.household_id}",
                channel=r.channel,
                recipient=r.user_id,
                body=announcement(t, consultation).to_json(),
                priority=PRIORITY_BROADCAST,
            )
        )
    added = await enqueue_many(session, messages=messages, now=now) if messages else 0
    return added, len(recipients)


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


async def push_decisions(
    session: AsyncSession,
    *,
    consultation: Consultation,
    sealer: Sealer,
    now: datetime,
    zone: ZoneInfo,
    default_locale: str,
) -> int:
    """Tell everyone who answered which opinions were adopted and why not, once per set of
    decisions; returns the new messages (0 when nothing is decided or all were told)."""
    themes = [
        th for th in await store.themes(session, consultation_id=consultation.id) if th.decision
    ]
    if not themes:
        return 0
    counts = await store.theme_counts(session, consultation_id=consultation.id)
    version = hashlib.sha256(
        "|".join(f"{th.id}:{th.decision}:{th.change}:{th.reason}" for th in themes).encode()
    ).hexdigest()[:16]
    event = f"consultation-decisions:{consultation.id}:{version}"
    addresses = []
    for handle in await store.reply_handles(session, consultation_id=consultation.id):
        try:
            addresses.append(sealer.open(handle))
        except ValueError:
            log.warning("a reply handle does not open with this SECRET_KEY; skipped")
    addresses = list(dict.fromkeys(addresses))
    locales = await accounts.locales_of(
        session, addresses=[(a.channel, a.user_id) for a in addresses]
    )
    messages = []
    for address in addresses:
        locale = locales.get((address.channel, address.user_id))
        if locale is None:
            continue  # they deleted their data
        t = Translator(choose(locale, default_locale), zone)
        messages.append(
            Outgoing(
                key=f"{SEALED}c{consultation.id}:{sealer.message_key(event, address)}",
                channel=address.channel,
                recipient=address.user_id,
                body=Reply(
                    title=t._("What became of your opinions: {title}").format(
                        title=consultation.title
                    ),
                    text=t._("Thank you for taking part. The decisions on the opinions received:")
                    + "\n\n"
                    + decisions_text(t, themes, counts),
                ).to_json(),
                priority=PRIORITY_REPLY,
            )
        )
    return await enqueue_many(session, messages=messages, now=now) if messages else 0


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
