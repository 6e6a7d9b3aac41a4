"""A consultation's news through the outbox: its announcement to the linked households of the
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

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import Reply
from bot.services.notifier import Notifier
from handlers.consultation_news import announcement, decisions_text
from storage import accounts
from storage import consultations as store
from storage.models import Consultation
from storage.outbox import PRIORITY_BROADCAST, PRIORITY_REPLY, SEALED, Outgoing, enqueue_many

log = logging.getLogger(__name__)


class ConsultationNews:
    """Announce a consultation and push its decisions; built once with a Notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def announce(
        self,
        session: AsyncSession,
        *,
        consultation: Consultation,
        now: datetime | None = None,
    ) -> tuple[int, int]:
        """Queue the announcement to every linked household of the audience not told yet (its
        priority groups first), in the language of its chat; (new messages, households)."""
        recipients = await store.audience_chats(session, consultation=consultation)
        messages = []
        for r in recipients:
            t = self.notifier.translator(r.locale)
            messages.append(
                Outgoing(
                    key=f"consult:{consultation.id}:{r.household_id}",
                    channel=r.channel,
                    recipient=r.user_id,
                    body=announcement(t, consultation).to_json(),
                    priority=PRIORITY_BROADCAST,
                )
            )
        added = (
            await enqueue_many(session, messages=messages, now=self.notifier.now(now))
            if messages
            else 0
        )
        return added, len(recipients)

    async def push_decisions(
        self,
        session: AsyncSession,
        *,
        consultation: Consultation,
        now: datetime | None = None,
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
        sealer = self.notifier.sealer
        assert sealer is not None, "the decisions go through sealed handles: SECRET_KEY is needed"
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
            t = self.notifier.translator(locale)
            messages.append(
                Outgoing(
                    key=f"{SEALED}c{consultation.id}:{sealer.message_key(event, address)}",
                    channel=address.channel,
                    recipient=address.user_id,
                    body=Reply(
                        title=t._("What became of your opinions: {title}").format(
                            title=consultation.title
                        ),
                        text=t._(
                            "Thank you for taking part. The decisions on the opinions received:"
                        )
                        + "\n\n"
                        + decisions_text(t, themes, counts),
                    ).to_json(),
                    priority=PRIORITY_REPLY,
                )
            )
        return (
            await enqueue_many(session, messages=messages, now=self.notifier.now(now))
            if messages
            else 0
        )
