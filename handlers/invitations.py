"""Invitations, answers, reminders and notices of a dialogue, for the households invited.

The messages are built here, in each recipient's language; the organiser's commands and the
clock call the functions below, and the "Tham dự" / "Không tham dự" buttons come back to
`on_answer`. A decline gives the seat to the next household of the same group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import buttons as btn
from bot.core.lifecycles import DialogueStatus, InvitationStatus, allowed, transition
from bot.i18n import SUPPORTED, Translator
from bot.messages import Button, Reply
from handlers.context import Context
from storage import invitations as inv
from storage.models import Account, Dialogue, Household, HouseholdLink, Invitation
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

    def pieces(self) -> inv.InvitationPieces:
        """The words cut around the name, for the database to fill in (enqueue_invitations)."""
        intro_before, intro_after = self.intro.split("{salutation}", 1)
        before, after = {}, {}
        for gender, salutation in self.salutations.items():
            name_before, name_after = salutation.split("{name}", 1)
            before[gender] = intro_before + name_before
            after[gender] = name_after + intro_after + "\n\n" + self.body
        return inv.InvitationPieces(
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
class Recipients:
    """Where each household's messages go (the chat it used last) and in which language."""

    addresses: dict[int, tuple[str, str]] = field(default_factory=dict)
    locales: dict[tuple[str, str], str] = field(default_factory=dict)

    def translator(self, address: tuple[str, str], default: str, zone: ZoneInfo) -> Translator:
        return _translator(self.locales.get(address, default), zone)


_TRANSLATORS: dict[tuple[str, str], Translator] = {}


def _translator(locale: str, zone: ZoneInfo) -> Translator:
    key = (locale, str(zone))
    if key not in _TRANSLATORS:
        _TRANSLATORS[key] = Translator(locale, zone)
    return _TRANSLATORS[key]


async def _recipients(
    session: AsyncSession, *, dialogue_id: int, statuses: tuple[str, ...]
) -> Recipients:
    """One query for the links of every household in these statuses, one for their languages."""
    found = Recipients()
    rows = await session.execute(
        select(HouseholdLink.household_id, HouseholdLink.channel, HouseholdLink.user_id)
        .join(Invitation, Invitation.household_id == HouseholdLink.household_id)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(statuses))
        .order_by(HouseholdLink.last_used_at, HouseholdLink.id)
    )
    for household_id, channel, user_id in rows:
        found.addresses[household_id] = (channel, user_id)  # the last used wins
    accounts = await session.execute(
        select(Account.channel, Account.user_id, Account.locale)
        .join(
            HouseholdLink,
            (HouseholdLink.channel == Account.channel) & (HouseholdLink.user_id == Account.user_id),
        )
        .join(Invitation, Invitation.household_id == HouseholdLink.household_id)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(statuses))
    )
    for channel, user_id, locale in accounts:
        found.locales[(channel, user_id)] = locale
    return found


@dataclass
class InviteResult:
    queued: int = 0
    letters: int = 0


async def invite_selected(
    session: AsyncSession,
    *,
    dialogue: Dialogue,
    now: datetime,
    default_locale: str,
    zone: ZoneInfo,
) -> InviteResult:
    """Invite every household selected and not yet invited: a message to its chat, or a letter.

    Idempotent: each invitation's outbox key is permanent, so running it twice sends nothing
    twice, and those already invited are not selected any more.
    """
    pieces = {
        locale: InvitationTemplate.compose(_translator(locale, zone), dialogue).pieces()
        for locale in SUPPORTED
    }
    queued, letters = await inv.enqueue_invitations(
        session,
        dialogue_id=dialogue.id,
        pieces=pieces,
        default_locale=default_locale,
        now=now,
        priority=PRIORITY_BROADCAST,
    )
    return InviteResult(queued=queued, letters=letters)


async def _notify(
    session: AsyncSession,
    *,
    dialogue: Dialogue,
    statuses: tuple[str, ...] = (InvitationStatus.INVITED, InvitationStatus.ACCEPTED),
    key: str,
    build,
    now: datetime,
    default_locale: str,
    zone: ZoneInfo,
    priority: int = PRIORITY_REMINDER,
) -> int:
    """Send one message to every household of the dialogue in these statuses that has a chat:
    to the chat it used last. Returns how many will be told (not those who blocked the bot)."""
    invitees = await inv.with_status(session, dialogue_id=dialogue.id, statuses=statuses)
    recipients = await _recipients(session, dialogue_id=dialogue.id, statuses=statuses)
    messages = []
    for invitee in invitees:
        address = recipients.addresses.get(invitee.household.id)
        if address is None:
            continue
        t = recipients.translator(address, default_locale, zone)
        messages.append(
            Outgoing(
                # Keyed on the household, not the chat: a household that moved to another
                # channel between two runs of the same notice must not get it on each.
                key=f"{key}:{invitee.household.id}",
                channel=address[0],
                recipient=address[1],
                body=build(t, invitee).to_json(),
                priority=priority,
            )
        )
    blocked = await blocked_recipients(
        session, addresses=[(m.channel, m.recipient) for m in messages]
    )
    await enqueue_many(session, messages=messages, now=now)
    # Those who blocked the bot are recorded unreachable, not told (`undelivered` lists them).
    return sum(1 for m in messages if (m.channel, m.recipient) not in blocked)


async def send_reminder(
    session: AsyncSession,
    *,
    reminder_id: int,
    dialogue: Dialogue,
    now: datetime,
    default_locale: str,
    zone: ZoneInfo,
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

    return await _notify(
        session,
        dialogue=dialogue,
        key=f"remind:{reminder_id}",
        build=build,
        now=now,
        default_locale=default_locale,
        zone=zone,
    )


async def announce_move(
    session: AsyncSession, *, dialogue: Dialogue, now: datetime, default_locale: str, zone: ZoneInfo
) -> int:
    def build(t: Translator, invitee: inv.Invitee) -> Reply:
        return Reply(
            text=t._("The dialogue has been moved. The new time and place:")
            + "\n\n"
            + _details(t, dialogue),
            title=t._("Change of time"),
        )

    assert dialogue.starts_at is not None
    return await _notify(
        session,
        dialogue=dialogue,
        key=f"moved:{dialogue.id}:{dialogue.starts_at.isoformat()}",
        build=build,
        now=now,
        default_locale=default_locale,
        zone=zone,
    )


async def announce_cancellation(
    session: AsyncSession, *, dialogue: Dialogue, now: datetime, default_locale: str, zone: ZoneInfo
) -> int:
    def build(t: Translator, invitee: inv.Invitee) -> Reply:
        assert dialogue.starts_at is not None
        return Reply(
            text=t._(
                'The dialogue "{title}" planned for {when} has been cancelled. We are sorry for '
                "the trouble; you will be told of a new date."
            ).format(title=dialogue.title, when=t.datetime(dialogue.starts_at)),
            title=t._("Dialogue cancelled"),
        )

    return await _notify(
        session,
        dialogue=dialogue,
        key=f"cancelled:{dialogue.id}",
        build=build,
        now=now,
        default_locale=default_locale,
        zone=zone,
    )


async def on_answer(ctx: Context, invitation_id: int, answer: str) -> None:
    """r:<invitation>:y|n - a household answers its invitation."""
    _ = ctx.t._
    invitation = await ctx.session.get(Invitation, invitation_id)
    link = None
    if invitation is not None:
        link = await ctx.session.scalar(
            select(HouseholdLink).where(
                HouseholdLink.household_id == invitation.household_id,
                HouseholdLink.channel == ctx.address.channel,
                HouseholdLink.user_id == ctx.address.user_id,
            )
        )
    if invitation is None or link is None or answer not in ("y", "n"):
        ctx.notice = _("This button is out of date.")
        ctx.say(_("That invitation is not for this chat."))
        return
    dialogue = await ctx.session.get(Dialogue, invitation.dialogue_id)
    assert dialogue is not None and dialogue.starts_at is not None
    if dialogue.status != DialogueStatus.PLANNED or ctx.now >= dialogue.starts_at:
        ctx.say(_("This dialogue is no longer taking answers."))
        return
    # Invited or answered already (a household may change its mind): not waiting, cancelled.
    new = InvitationStatus.ACCEPTED if answer == "y" else InvitationStatus.DECLINED
    if not allowed(invitation.status, new):
        ctx.say(_("That invitation is not for this chat."))
        return
    link.last_used_at = ctx.now
    was = invitation.status
    invitation.status = transition(invitation.status, new)
    invitation.responded_at = ctx.now
    if answer == "y":
        ctx.notice = _("Thank you!")
        ctx.say(
            _("Thank you: we expect you at {when}, {venue}. We will remind you beforehand.").format(
                when=ctx.t.datetime(dialogue.starts_at), venue=dialogue.venue
            )
        )
        # A household that declined and changes its mind comes in addition to the one that
        # took its seat: nobody is uninvited.
        return
    ctx.notice = _("Noted")
    ctx.say(
        _(
            "Noted: you will not attend. You can still send your questions with /hoi; "
            "the answers will come here."
        )
    )
    if was != InvitationStatus.DECLINED:
        await _promote(ctx, dialogue, invitation.group)


async def _promote(ctx: Context, dialogue: Dialogue, group: str) -> None:
    """Give the seat of a decline to the next household of the same group, and invite it."""
    following = await inv.next_on_waitlist(ctx.session, dialogue_id=dialogue.id, group=group)
    if following is None:
        return
    following.status = transition(following.status, InvitationStatus.SELECTED)
    await ctx.session.flush()
    await invite_selected(
        ctx.session,
        dialogue=dialogue,
        now=ctx.now,
        default_locale=ctx.default_locale,
        zone=ctx.zone,
    )
