"""News of a question taken back to the people who care about it: its asker, the askers of
the questions merged into it, and everyone who pressed "Tôi cũng muốn hỏi".

Anonymous askers and supporters are reached through their sealed handles, opened here only to
write the outbox row. Each row's key is a keyed hash of the news and the person ("sealed:…"),
so nobody receives the same news twice, and the key names neither the question nor the
person; once the message reaches a final state its body and recipient are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.anonymity import Sealer
from bot.i18n import Translator, choose
from bot.messages import Address, Reply
from storage.models import Account, Question, Support
from storage.outbox import PRIORITY_REPLY, SEALED, Outgoing, enqueue_many

log = logging.getLogger(__name__)


async def people_of(
    session: AsyncSession, *, question_id: str, sealer: Sealer, followers: bool = True
) -> list[tuple[Address, str]]:
    """Everyone to tell about a question, once each, with their language.

    The asker of the question and of those merged into it; with `followers`, every supporter of
    them too. People whose account is gone (they deleted their data) are left out.
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
    locales: dict[Address, str] = {}
    for address in unique:
        account = await session.scalar(
            select(Account).where(
                Account.channel == address.channel, Account.user_id == address.user_id
            )
        )
        if account is not None:
            locales[address] = account.locale
    return [(address, locales[address]) for address in unique if address in locales]


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
    messages are new."""
    people = await people_of(session, question_id=question_id, sealer=sealer, followers=followers)
    messages = []
    for address, locale in people:
        t = Translator(choose(locale, default_locale), zone)
        messages.append(
            Outgoing(
                key=SEALED + sealer.message_key(event, address),
                channel=address.channel,
                recipient=address.user_id,
                body=build(t).to_json(),
                priority=PRIORITY_REPLY,
            )
        )
    if not messages:
        return 0
    return await enqueue_many(session, messages=messages, now=now)
