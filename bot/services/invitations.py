"""Invitations, reminders and notices of a dialogue, for the households invited.

The messages are built here, in each recipient's language; the organiser's commands, the clock
and the handlers (a decline gives the seat to the next household) call `Invitations`. The
"Tham dự" / "Không tham dự" buttons come back to handlers.invitations.on_answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as btn
from bot.core.i18n import SUPPORTED, Translator
from bot.core.lifecycles import DialogueStatus, InvitationStatus, transition
from bot.core.messages import Button, Reply
from bot.services.notifier import Notifier
from storage import invitations as inv
from storage import reminders
from storage.invitation_messages import InvitationPieces, enqueue_invitations
from storage.models import Dialogue, Household
from storage.outbox import (
    PRIORITY_BROADCAST,
    PRIORITY_REMINDER,
    Outgoing,
    blocked_recipients,
    enqueue_many,
)
from storage.topics import TOPICS


def _details(t: Translator, dialogue: Dialogue) -> str:
    """The dialogue's title, time, venue and topics, in the reader's language."""
    assert dialogue.starts_at is not None
    topics = ", ".join(t._(TOPICS[c].name) for c in dialogue.topics if c in TOPICS)
    lines = [
        dialogue.title,
        t._("Time: {when}").format(when=t.datetime(dialogue.starts_at)),
        t._("Venue: {venue}").format(venue=dialogue.venue or "–"),
    ]
    if topics:
        lines.append(t._("Topics: {topics}").format(topics=topics))
    return "\n".join(lines)


def _answer(invitation_id: int, answer: str) -> str:
    """r:<invitation>:y|n (storage.invitations writes the same in SQL for a whole invitation)."""
    return btn.INVITATION.build(invitation=invitation_id, answer=answer)


def answer_buttons(t: Translator, invitation_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (Button(t._("✅ I will attend"), _answer(invitation_id, "y")),),
        (Button(t._("❌ I cannot attend"), _answer(invitation_id, "n")),),
        (Button(t._("✍️ Send a question"), btn.MENU.build(item="ask")),),
    )


@dataclass(frozen=True)
class InvitationTemplate:
    """A dialogue's invitation in one language: everything but the household, composed once,
    so that inviting a whole province is string filling rather than catalog look-ups."""

    title: str
    salutations: dict[str, str]  # gender -> "Bà {name}"
    intro: str  # "{salutation}, you are invited ..."
    body: str
    yes: str
    no: str
    ask: str

    @classmethod
    def compose(cls, t: Translator, dialogue: Dialogue) -> InvitationTemplate:
        if dialogue.question_deadline is not None:
            questions = t._(
                "You can send your questions before {deadline} with /hoi, anonymously if you wish."
            ).format(deadline=t.datetime(dialogue.question_deadline))
        else:
            questions = t._(
                "You can send your questions before the dialogue with /hoi, anonymously if you "
                "wish."
            )
        return cls(
            title=t._("Invitation to a policy dialogue"),
            salutations={
                "female": t._("Mrs {name}"),
                "male": t._("Mr {name}"),
                "": t._("Mr/Mrs {name}"),
            },
            intro=t._("{salutation}, you are invited to the policy dialogue:"),
            body=_details(t, dialogue)
            + "\n\n"
            + questions
            + "\n"
            + t._("Please tell us whether you will attend:"),
            yes=t._("✅ I will attend"),
            no=t._("❌ I cannot attend"),
            ask=t._("✍️ Send a question"),
        )

    def pieces(self) -> InvitationPieces:
        """The words cut around the name, for the database to fill in (enqueue_invitations)."""
        intro_before, intro_after = self.intro.split("{salutation}", 1)
        before, after = {}, {}
        for gender, salutation in self.salutations.items():
            name_before, name_after = salutation.split("{name}", 1)
            before[gender] = intro_before + name_before
            after[gender] = name_after + intro_after + "\n\n" + self.body
        return InvitationPieces(
            title=self.title,
            before_name=before,
            after_name=after,
            yes=self.yes,
            no=self.no,
            ask=self.ask,
        )

    def reply(self, *, name: str, gender: str, invitation_id: int) -> Reply:
        salutation = self.salutations.get(gender, self.salutations[""]).format(name=name)
        return Reply(
            text=self.intro.format(salutation=salutation) + "\n\n" + self.body,
            title=self.title,
            buttons=(
                (Button(self.yes, _answer(invitation_id, "y")),),
                (Button(self.no, _answer(invitation_id, "n")),),
                (Button(self.ask, btn.MENU.build(item="ask")),),
            ),
        )


def invitation_reply(
    t: Translator, dialogue: Dialogue, household: Household, invitation_id: int
) -> Reply:
    return InvitationTemplate.compose(t, dialogue).reply(
        name=household.head_name, gender=household.gender, invitation_id=invitation_id
    )


@dataclass
class InviteResult:
    queued: int = 0
    letters: int = 0


class Invitations:
    """Invite, remind and announce to the households of a dialogue; built once with a Notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def template(self, locale: str, dialogue: Dialogue) -> InvitationTemplate:
        return InvitationTemplate.compose(self.notifier.translator(locale), dialogue)

    async def invite(
        self, session: AsyncSession, *, dialogue: Dialogue, now: datetime | None = None
    ) -> InviteResult:
        """Invite every household selected and not yet invited: a message to its chat, or a
        letter.

        Idempotent: each invitation's outbox key is permanent, so running it twice sends nothing
        twice, and those already invited are not selected any more.
        """
        pieces = {locale: self.template(locale, dialogue).pieces() for locale in SUPPORTED}
        queued, letters = await enqueue_invitations(
            session,
            dialogue_id=dialogue.id,
            pieces=pieces,
            default_locale=self.notifier.default_locale,
            now=self.notifier.now(now),
            priority=PRIORITY_BROADCAST,
        )
        return InviteResult(queued=queued, letters=letters)

    async def remind(
        self,
        session: AsyncSession,
        *,
        reminder_id: int,
        dialogue: Dialogue,
        now: datetime | None = None,
    ) -> int:
        """Remind those who accepted or have not answered (never those who declined)."""

        details: dict[str, str] = {}

        def build(t: Translator, invitee: inv.Invitee) -> Reply:
            pending = invitee.invitation.status == InvitationStatus.INVITED
            text = details.get(t.locale) or details.setdefault(t.locale, _details(t, dialogue))
            if pending:
                text += "\n\n" + t._("You have not told us yet whether you will attend.")
            return Reply(
                text=text,
                title=t._("Reminder: policy dialogue"),
                buttons=answer_buttons(t, invitee.invitation.id)[:2] if pending else (),
            )

        return await self._notify(
            session, dialogue=dialogue, key=f"remind:{reminder_id}", build=build, now=now
        )

    async def announce_move(
        self, session: AsyncSession, *, dialogue: Dialogue, now: datetime | None = None
    ) -> int:
        def build(t: Translator, invitee: inv.Invitee) -> Reply:
            return Reply(
                text=t._("The dialogue has been moved. The new time and place:")
                + "\n\n"
                + _details(t, dialogue),
                title=t._("Change of time"),
            )

        assert dialogue.starts_at is not None
        key = f"moved:{dialogue.id}:{dialogue.starts_at.isoformat()}"
        return await self._notify(session, dialogue=dialogue, key=key, build=build, now=now)

    async def announce_cancellation(
        self, session: AsyncSession, *, dialogue: Dialogue, now: datetime | None = None
    ) -> int:
        def build(t: Translator, invitee: inv.Invitee) -> Reply:
            assert dialogue.starts_at is not None
            return Reply(
                text=t._(
                    'The dialogue "{title}" planned for {when} has been cancelled. We are sorry '
                    "for the trouble; you will be told of a new date."
                ).format(title=dialogue.title, when=t.datetime(dialogue.starts_at)),
                title=t._("Dialogue cancelled"),
            )

        key = f"cancelled:{dialogue.id}"
        return await self._notify(session, dialogue=dialogue, key=key, build=build, now=now)

    async def move(
        self,
        session: AsyncSession,
        *,
        dialogue: Dialogue,
        starts_at: datetime,
        venue: str | None,
        reminder_offsets: Sequence[timedelta],
        now: datetime | None = None,
    ) -> tuple[int, list[inv.Invitee]]:
        """Move the dialogue (its question deadline shifts with it), reschedule its reminders
        and tell those invited. Returns how many will be told and the households holding a
        printed letter that now carries the old time."""
        now = self.notifier.now(now)
        assert dialogue.starts_at is not None
        shift = starts_at - dialogue.starts_at
        dialogue.starts_at = starts_at
        if dialogue.question_deadline is not None:
            dialogue.question_deadline += shift
        if venue:
            dialogue.venue = venue
        await reminders.cancel_pending(session, dialogue_id=dialogue.id)
        await reminders.schedule(session, dialogue=dialogue, offsets=reminder_offsets, now=now)
        told = await self.announce_move(session, dialogue=dialogue, now=now)
        lettered = await inv.outdate_letters(session, dialogue_id=dialogue.id, now=now)
        return told, lettered

    async def cancel(
        self, session: AsyncSession, *, dialogue: Dialogue, now: datetime | None = None
    ) -> tuple[int, list[inv.Invitee]]:
        """Cancel the dialogue: those invited are told, no reminder is sent any more. Returns
        how many will be told and the households holding a printed letter (now void)."""
        now = self.notifier.now(now)
        told = await self.announce_cancellation(session, dialogue=dialogue, now=now)
        lettered = await inv.outdate_letters(session, dialogue_id=dialogue.id, now=now)
        dialogue.status = transition(dialogue.status, DialogueStatus.CANCELLED)
        await reminders.cancel_pending(session, dialogue_id=dialogue.id)
        await inv.cancel_all(session, dialogue_id=dialogue.id, now=now)
        return told, lettered

    async def _notify(
        self,
        session: AsyncSession,
        *,
        dialogue: Dialogue,
        key: str,
        build: Callable[[Translator, inv.Invitee], Reply],
        now: datetime | None,
        statuses: tuple[str, ...] = (InvitationStatus.INVITED, InvitationStatus.ACCEPTED),
    ) -> int:
        """Send one message to every household of the dialogue in these statuses that has a
        chat: to the chat it used last. Returns how many will be told (not those who blocked
        the bot)."""
        invitees = await inv.with_status(session, dialogue_id=dialogue.id, statuses=statuses)
        recipients = await inv.chat_recipients(session, dialogue_id=dialogue.id, statuses=statuses)
        messages = []
        for invitee in invitees:
            address = recipients.addresses.get(invitee.household.id)
            if address is None:
                continue
            t = self.notifier.translator(recipients.locales.get(address))
            messages.append(
                Outgoing(
                    # Keyed on the household, not the chat: a household that moved to another
                    # channel between two runs of the same notice must not get it on each.
                    key=f"{key}:{invitee.household.id}",
                    channel=address[0],
                    recipient=address[1],
                    body=build(t, invitee).to_json(),
                    priority=PRIORITY_REMINDER,
                )
            )
        blocked = await blocked_recipients(
            session, addresses=[(m.channel, m.recipient) for m in messages]
        )
        await enqueue_many(session, messages=messages, now=self.notifier.now(now))
        # Those who blocked the bot are recorded unreachable, not told (`undelivered` lists them).
        return sum(1 for m in messages if (m.channel, m.recipient) not in blocked)
