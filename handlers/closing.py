"""When a dialogue has ended: its unanswered questions go to their agencies with a deadline.

Every clock tick closes the sessions that have ended (each claimed by one transaction across
processes), gives their questions still waiting for an answer the agency's deadline (the day
the dialogue ended + policy.answer_days), and tells each official of each agency concerned
once, with a button to their inbox.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as btn
from bot.core.config import Policy
from bot.core.i18n import Translator, choose
from bot.core.messages import Button, Reply
from storage import followup
from storage.outbox import PRIORITY_REMINDER, Outgoing, enqueue_many

log = logging.getLogger(__name__)


async def close_ended(
    session: AsyncSession, *, now: datetime, zone: ZoneInfo, default_locale: str, policy: Policy
) -> int:
    """Called by every clock tick; returns how many messages were written."""
    written = 0
    for dialogue in await followup.ended(session, now=now):
        if not await followup.claim_closing(session, dialogue=dialogue, now=now):
            continue  # another process closed it first
        ended_on = followup.ends_at(dialogue).astimezone(zone).date()
        due_on = ended_on + timedelta(days=policy.answer_days)
        per_agency = await followup.send_unanswered(
            session, dialogue_id=dialogue.id, due_on=due_on, today=now.astimezone(zone).date()
        )
        messages = []
        for staff, locale in await followup.reachable_officials(
            session, agencies=sorted(per_agency)
        ):
            assert staff.agency is not None and staff.channel and staff.user_id
            t = Translator(choose(locale, default_locale), zone)
            count = per_agency[staff.agency]
            text = t.ngettext(
                "{count} question of the dialogue “{title}” was not answered at the dialogue; "
                "please answer it by {date}.",
                "{count} questions of the dialogue “{title}” were not answered at the "
                "dialogue; please answer them by {date}.",
                count,
            ).format(count=count, title=dialogue.title, date=t.date(due_on))
            reply = Reply(
                title=t._("Questions for your agency"),
                text=text,
                buttons=((Button(t._("📥 Inbox"), btn.INBOX.build()),),),
            )
            messages.append(
                Outgoing(
                    key=f"closing:{dialogue.id}:{staff.id}",
                    channel=staff.channel,
                    recipient=staff.user_id,
                    body=reply.to_json(),
                    priority=PRIORITY_REMINDER,
                )
            )
        written += await enqueue_many(session, messages=messages, now=now)
        log.info(
            "dialogue %s closed: %d questions to %d agencies",
            dialogue.id,
            sum(per_agency.values()),
            len(per_agency),
        )
    return written
