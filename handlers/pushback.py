"""News of a question taken back to the people who care about it: its asker, the askers of
the questions merged into it, and everyone who pressed "Tôi cũng muốn hỏi".

Anonymous askers and supporters are reached through their sealed handles, opened here only to
write the outbox row. Each row's key is a keyed hash of the news and the person
("sealed:DIALOGUE:…"), so nobody receives the same news twice, and the key names neither the
question nor the person; once the message reaches a final state its body and recipient are
dropped. A person whose chat is linked to a household is told in the chat the household used
last, once per household.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import buttons as btn
from bot import speech
from bot.anonymity import Sealer
from bot.core.lifecycles import CommitmentStatus
from bot.i18n import Translator, choose
from bot.messages import Address, Button, Reply
from storage import links
from storage.models import Account, Agency, Answer, Commitment, Question, Support
from storage.outbox import PRIORITY_REPLY, SEALED, Outgoing, enqueue_many

log = logging.getLogger(__name__)


HOUSEHOLD = "household"  # the channel part of the once-only key of a linked household


@dataclass(frozen=True)
class Person:
    """One person to tell: where the news goes, in which language, and who they are for the
    once-only key (their household when their chat is linked to one, else their address)."""

    address: Address
    locale: str
    subject: Address


async def people_of(
    session: AsyncSession, *, question_id: str, sealer: Sealer, followers: bool = True
) -> list[Person]:
    """Everyone to tell about a question, once each, with their language.

    The asker of the question and of those merged into it; with `followers`, every supporter of
    them too. People whose account is gone (they deleted their data) are left out.

    A chat linked to a household stands for the household: the news goes to the chat the
    household used last (someone who asked on Telegram and talks on Zalo now reads it on
    Zalo), once per household however many of its chats asked or follow, in the language of
    the account on that chat.
    """
    questions = list(
        await session.scalars(
            select(Question).where(
                or_(Question.id == question_id, Question.merged_into == question_id)
            )
        )
    )
    addresses: list[Address] = []
    named = [q.account_id for q in questions if q.account_id is not None]
    if named:
        for channel, user_id in await session.execute(
            select(Account.channel, Account.user_id).where(Account.id.in_(named))
        ):
            addresses.append(Address(channel, user_id))
    handles = [q.reply_handle for q in questions if q.reply_handle is not None]
    if followers:
        handles += list(
            await session.scalars(
                select(Support.reply_handle).where(
                    Support.question_id.in_([q.id for q in questions]),
                    Support.reply_handle.is_not(None),
                )
            )
        )
    for handle in handles:
        try:
            addresses.append(sealer.open(handle))
        except ValueError:
            # Sealed under another SECRET_KEY: nobody can be reached through it any more.
            log.warning("a reply handle does not open with this SECRET_KEY; skipped")
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return []
    linked = await links.households_of(session, addresses=[(a.channel, a.user_id) for a in unique])
    latest = await links.last_used(session, household_ids=sorted(set(linked.values())))
    targets = {Address(*chat) for chat in latest.values()}
    locales = await _locales(session, [*unique, *targets])
    people: dict[Address, Person] = {}
    for address in unique:
        if address not in locales:
            continue  # the account is gone: they deleted their data
        subject, target = address, address
        household = linked.get((address.channel, address.user_id))
        if household is not None and household in latest:
            subject = Address(HOUSEHOLD, str(household))
            chosen = Address(*latest[household])
            if chosen in locales:
                target = chosen
        if subject not in people:
            people[subject] = Person(target, locales[target], subject)
    return list(people.values())


async def _locales(session: AsyncSession, addresses: list[Address]) -> dict[Address, str]:
    """The language of the account on each address that has one."""
    found: dict[Address, str] = {}
    for channel in {a.channel for a in addresses}:
        user_ids = sorted({a.user_id for a in addresses if a.channel == channel})
        for start in range(0, len(user_ids), 1000):
            rows = await session.execute(
                select(Account.user_id, Account.locale).where(
                    Account.channel == channel, Account.user_id.in_(user_ids[start : start + 1000])
                )
            )
            for user_id, locale in rows:
                found[Address(channel, user_id)] = locale
    return found


async def tell(
    session: AsyncSession,
    *,
    question_id: str,
    event: str,
    build: Callable[[Translator], Reply],
    sealer: Sealer,
    now: datetime,
    zone: ZoneInfo,
    default_locale: str,
    followers: bool = True,
) -> int:
    """Write one message per person (see `people_of`), each in their language; `event` names
    the news (e.g. "answer:12", "commitment:3:2") and makes it once-only. Returns how many
    messages are new.

    The key is made of the event and the person's household when their chat is linked to one,
    not of the chat the message goes to: a household that moved from Telegram to Zalo between
    a publication and its redelivery (or a second publication) would otherwise get the same
    news once on each. It starts with the question's dialogue ("sealed:DIALOGUE:…"), which
    names no one, so that the digest can count, for a ward, the news that could not be
    delivered.
    """
    dialogue_id = await session.scalar(
        select(Question.dialogue_id).where(Question.id == question_id)
    )
    people = await people_of(session, question_id=question_id, sealer=sealer, followers=followers)
    messages = []
    for person in people:
        t = Translator(choose(person.locale, default_locale), zone)
        messages.append(
            Outgoing(
                key=f"{SEALED}{dialogue_id}:{sealer.message_key(event, person.subject)}",
                channel=person.address.channel,
                recipient=person.address.user_id,
                body=build(t).to_json(),
                priority=PRIORITY_REPLY,
            )
        )
    if not messages:
        return 0
    return await enqueue_many(session, messages=messages, now=now)


EXCERPT = 120


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of a text, cut at a word where it is long."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


async def _agency_name(session: AsyncSession, code: str) -> str:
    # A seeded agency's name is a catalog msgid, shown through each person's translator.
    agency = await session.get(Agency, code)
    return agency.name if agency is not None else code


def feedback_buttons(t: Translator, *, ticket: str, about: str) -> tuple[tuple[Button, ...], ...]:
    """ "Hài lòng" / "Chưa hài lòng" under an answer or a commitment (data: "f:TICKET:about:y|n")."""
    return (
        (
            Button(t._("😊 Satisfied"), btn.FEEDBACK.build(ticket=ticket, about=about, choice="y")),
            Button(
                t._("🙁 Not satisfied"), btn.FEEDBACK.build(ticket=ticket, about=about, choice="n")
            ),
        ),
    )


def commitment_lines(t: Translator, commitment: Commitment) -> list[str]:
    """A commitment as people read it: what, by when, by whom, and the latest progress."""
    lines = [
        t._("🤝 Commitment: {content}").format(content=commitment.content),
        t._("📅 Deadline: {date}").format(date=t.date(commitment.due_on)),
    ]
    if commitment.responsible:
        lines.append(t._("👤 Responsible: {who}").format(who=commitment.responsible))
    if commitment.progress:
        lines.append(t._("📝 Latest progress: {progress}").format(progress=commitment.progress))
    if commitment.status == CommitmentStatus.FULFILLED and commitment.fulfilled_on is not None:
        lines.append(t._("✅ Fulfilled on {date}").format(date=t.date(commitment.fulfilled_on)))
    return lines


async def publish_answer(
    session: AsyncSession,
    *,
    answer: Answer,
    question: Question,
    sealer: Sealer,
    now: datetime,
    zone: ZoneInfo,
    default_locale: str,
) -> int:
    """Tell the asker, the merged-in askers and the supporters of a published answer, once
    each (event "answer:ID"), with "Hài lòng" / "Chưa hài lòng". Returns the new messages."""
    agency = await _agency_name(session, answer.agency)

    def build(t: Translator) -> Reply:
        lines = [
            t._("Question #{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text)
            ),
            "",
            t._("Answer from {agency}:").format(agency=t._(agency)),
            answer.text,
        ]
        if answer.in_room:
            lines += ["", t._("🏛 Answered at the dialogue.")]
        buttons = feedback_buttons(t, ticket=question.ticket, about=f"a{answer.id}")
        if speech.can_speak(t.locale):  # "🔊 Nghe": the answer read aloud (handlers.listen)
            buttons += ((Button(t._("🔊 Listen"), btn.LISTEN.build(answer=answer.id)),),)
        return Reply(
            title=t._("Your question has an answer"),
            text="\n".join(lines),
            buttons=buttons,
        )

    return await tell(
        session,
        question_id=question.id,
        event=f"answer:{answer.id}",
        build=build,
        sealer=sealer,
        now=now,
        zone=zone,
        default_locale=default_locale,
    )


async def publish_commitment(
    session: AsyncSession,
    *,
    commitment: Commitment,
    question: Question,
    sealer: Sealer,
    now: datetime,
    zone: ZoneInfo,
    default_locale: str,
) -> int:
    """Tell the people of a question about a commitment made, updated or fulfilled, once per
    version (event "commitment:ID:VERSION"). A commitment tied to no question reaches nobody
    here (returns 0): it belongs to the dialogue's minutes."""
    if commitment.question_id is None or commitment.question_id != question.id:
        return 0
    agency = await _agency_name(session, commitment.agency)

    def build(t: Translator) -> Reply:
        if commitment.status == CommitmentStatus.FULFILLED:
            title = t._("A commitment was fulfilled")
        elif commitment.version <= 1:
            title = t._("A commitment was made")
        else:
            title = t._("A commitment was updated")
        lines = [
            t._("Question #{ticket}: “{excerpt}”").format(
                ticket=question.ticket, excerpt=excerpt(question.text)
            ),
            "",
            t._("{agency} commits:").format(agency=t._(agency)),
            *commitment_lines(t, commitment),
        ]
        return Reply(
            title=title,
            text="\n".join(lines),
            buttons=feedback_buttons(
                t, ticket=question.ticket, about=f"c{commitment.id}.{commitment.version}"
            ),
        )

    return await tell(
        session,
        question_id=question.id,
        event=f"commitment:{commitment.id}:{commitment.version}",
        build=build,
        sealer=sealer,
        now=now,
        zone=zone,
        default_locale=default_locale,
    )
