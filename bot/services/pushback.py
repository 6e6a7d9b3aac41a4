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

from sqlalchemy.ext.asyncio import AsyncSession

from bot import speech
from bot.core import buttons as btn
from bot.core.anonymity import Sealer
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Reply
from bot.services.notifier import Notifier
from handlers import support
from storage import accounts, links
from storage import questions as question_store
from storage.models import Answer, Commitment, Question
from storage.outbox import PRIORITY_REPLY, SEALED, Outgoing, enqueue_many
from storage.staff import find_agency

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
    questions = await question_store.with_merged(session, question_id=question_id)
    named = [q.account_id for q in questions if q.account_id is not None]
    addresses = [Address(*chat) for chat in await accounts.addresses_of(session, account_ids=named)]
    handles = [q.reply_handle for q in questions if q.reply_handle is not None]
    if followers:
        handles += await question_store.supporter_handles(
            session, question_ids=[q.id for q in questions]
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
    found = await accounts.locales_of(
        session, addresses=[(a.channel, a.user_id) for a in [*unique, *targets]]
    )
    locales = {Address(*chat): locale for chat, locale in found.items()}
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


EXCERPT = 120


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of a text, cut at a word where it is long (shorter than handlers.support's)."""
    return support.excerpt(text, limit)


async def _agency_name(session: AsyncSession, code: str) -> str:
    # A seeded agency's name is a catalog msgid, shown through each person's translator.
    agency = await find_agency(session, code=code)
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
    if commitment.status == "fulfilled" and commitment.fulfilled_on is not None:
        lines.append(t._("✅ Fulfilled on {date}").format(date=t.date(commitment.fulfilled_on)))
    return lines


class PushBack:
    """News of a question taken back to its people; built once with a Notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def tell(
        self,
        session: AsyncSession,
        *,
        question_id: str,
        event: str,
        build: Callable[[Translator], Reply],
        now: datetime | None = None,
        followers: bool = True,
    ) -> int:
        """Write one message per person (see `people_of`), each in their language; `event`
        names the news (e.g. "answer:12", "commitment:3:2") and makes it once-only. Returns how
        many messages are new.

        The key is made of the event and the person's household when their chat is linked to
        one, not of the chat the message goes to: a household that moved from Telegram to Zalo
        between a publication and its redelivery (or a second publication) would otherwise get
        the same news once on each. It starts with the question's dialogue
        ("sealed:DIALOGUE:…"), which names no one, so that the digest can count, for a ward,
        the news that could not be delivered.
        """
        sealer = self.notifier.require_sealer()
        dialogue_id = await question_store.dialogue_of(session, question_id=question_id)
        people = await people_of(
            session, question_id=question_id, sealer=sealer, followers=followers
        )
        messages = [
            Outgoing(
                key=f"{SEALED}{dialogue_id}:{sealer.message_key(event, person.subject)}",
                channel=person.address.channel,
                recipient=person.address.user_id,
                body=build(self.notifier.translator(person.locale)).to_json(),
                priority=PRIORITY_REPLY,
            )
            for person in people
        ]
        if not messages:
            return 0
        return await enqueue_many(session, messages=messages, now=self.notifier.now(now))

    async def answer(
        self,
        session: AsyncSession,
        *,
        answer: Answer,
        question: Question,
        now: datetime | None = None,
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

        return await self.tell(
            session,
            question_id=question.id,
            event=f"answer:{answer.id}",
            build=build,
            now=now,
        )

    async def commitment(
        self,
        session: AsyncSession,
        *,
        commitment: Commitment,
        question: Question,
        now: datetime | None = None,
    ) -> int:
        """Tell the people of a question about a commitment made, updated or fulfilled, once per
        version (event "commitment:ID:VERSION"). A commitment tied to no question reaches nobody
        here (returns 0): it belongs to the dialogue's minutes."""
        if commitment.question_id is None or commitment.question_id != question.id:
            return 0
        agency = await _agency_name(session, commitment.agency)

        def build(t: Translator) -> Reply:
            if commitment.status == "fulfilled":
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

        return await self.tell(
            session,
            question_id=question.id,
            event=f"commitment:{commitment.id}:{commitment.version}",
            build=build,
            now=now,
        )
