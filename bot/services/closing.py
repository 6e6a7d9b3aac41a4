"""When a dialogue has ended: its unanswered questions go to their agencies with a deadline.

Every clock tick closes the sessions that have ended (each claimed by one transaction across
processes), gives their questions still waiting for an answer the agency's deadline (the day
the dialogue ended + policy.answer_days), and tells each official of each agency concerned
once, with a button to their inbox.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as btn
from bot.core.config import Policy
from bot.core.messages import Button, Reply
from bot.services.notifier import Notifier
from storage import followup
from storage.models import Dialogue, Staff
from storage.outbox import PRIORITY_REMINDER, Outgoing, enqueue_many

log = logging.getLogger(__name__)


class Closing:
    """Close the dialogues that ended and send their unanswered questions to the agencies;
    built once with a Notifier and the policy."""

    def __init__(self, notifier: Notifier, policy: Policy) -> None:
        self.notifier = notifier
        self.policy = policy

    async def close_ended(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Called by every clock tick; returns how many messages were written."""
        now = self.notifier.now(now)
        zone = self.notifier.zone
        written = 0
        for dialogue in await followup.ended(session, now=now):
            if not await followup.claim_closing(session, dialogue=dialogue, now=now):
                continue  # another process closed it first
            ended_on = followup.ends_at(dialogue).astimezone(zone).date()
            due_on = ended_on + timedelta(days=self.policy.answer_days)
            per_agency = await followup.send_unanswered(
                session, dialogue_id=dialogue.id, due_on=due_on, today=now.astimezone(zone).date()
            )
            messages = [
                self._message(dialogue, staff, locale, per_agency[staff.agency or ""], due_on)
                for staff, locale in await followup.reachable_officials(
                    session, agencies=sorted(per_agency)
                )
            ]
            written += await enqueue_many(session, messages=messages, now=now)
            log.info(
                "dialogue %s closed: %d questions to %d agencies",
                dialogue.id,
                sum(per_agency.values()),
                len(per_agency),
            )
        return written

    def _message(
        self, dialogue: Dialogue, staff: Staff, locale: str | None, count: int, due_on: date
    ) -> Outgoing:
        assert staff.agency is not None and staff.channel and staff.user_id
        t = self.notifier.translator(locale)
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
        return Outgoing(
            key=f"closing:{dialogue.id}:{staff.id}",
            channel=staff.channel,
            recipient=staff.user_id,
            body=reply.to_json(),
            priority=PRIORITY_REMINDER,
        )
