"""Where a person's data can sit, and how each place forgets it.

`RULES` names every column that can hold a chat address (user id), a name, a username or a
phone number, with how it is forgotten; tests/hostile/test_forgetting.py fails when a column
that looks like one of these is added to storage/models/ without a rule here.

Two ways of forgetting a chat, both erasing its address from every table where it is the
chat's own:
- /xoa (handlers/delete.py): `forget_chat`, in the same transaction as the account's deletion;
- a chat that never consented, refused, or deleted its data: the outbox still needs its address
  to bring the last replies, so it is noted (`note_unconsented`) and the clock forgets it
  UNCONSENTED_MINUTES after it was last seen (`forget_unconsented`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import MetaData, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    Conversation,
    HouseholdLink,
    RecipientPace,
    Staff,
    UnconsentedChat,
)
from storage.outbox import forget_recipient
from storage.upsert import upsert

# A column whose name says it may hold an address, a name, a username, a phone number, or
# what can lead to them (a raw body, a sealed handle, a keyed hash).
LOOKS_PERSONAL = re.compile(
    r"user_?id|recipient|sender|name|phone|username|chat|body|handle|hash|sealed|address|email",
    re.IGNORECASE,
)

RULES: dict[str, str] = {
    # A person's own data, after consent
    "accounts.user_id": "deleted with the account on /xoa",
    "accounts.display_name": "deleted with the account on /xoa",
    "accounts.phone": "deleted with the account on /xoa",
    "conversations.user_id": (
        "deleted on /xoa and by the unconsented sweep (forget_chat); before consent it holds "
        "only the choices shown"
    ),
    "conversations.sealed_choices": "sealed with SECRET_KEY; deleted with its row",
    "household_links.user_id": "deleted on /xoa (forget_chat)",
    "recipient_paces.user_id": "deleted by forget_chat; pruned minutes after the last send",
    "staff.user_id": "a role's chat: cleared on /xoa (the role is revoked)",
    # Delivery
    "outbox.recipient": (
        "emptied once final for sealed rows; on /xoa and by the unconsented sweep for every "
        "row to the chat (forget_recipient)"
    ),
    "outbox.body": "dropped once final (kept only for an unknown fate an organiser may resend)",
    "incoming_events.body": "the raw webhook body: deleted once processed",
    "incoming_events.sender": "a keyed hash of the sender, deleted with its event",
    "unconsented_chats.user_id": (
        "the chat to forget: deleted by the sweep UNCONSENTED_MINUTES after it was last seen"
    ),
    "link_attempts.key": "a keyed hash of the chat, never its address; expires after an hour",
    # Anonymity: keyed hashes and sealed handles that only SECRET_KEY (and the account's
    # salt, deleted on /xoa) can tie to a chat
    "questions.asker_hash": "released on /xoa (release_questions)",
    "questions.reply_handle": "released on /xoa (release_questions)",
    "supports.supporter_hash": "deleted on /xoa (release_supports)",
    "supports.reply_handle": "deleted on /xoa (release_supports)",
    "consultation_responses.respondent_hash": (
        "keyed with the account's salt and the consultation: cleared on /xoa (the answers stay"
        " counted, linked to no one)"
    ),
    "consultation_responses.reply_handle": "sealed with SECRET_KEY: cleared on /xoa",
    "feedback.giver_hash": "keyed with the account's salt: unlinkable once it is deleted",
    # Not a chat's data: the ward's registry and the staff's work
    "households.head_name": "the ward's registry: replaced by its next import, never by chat",
    "households.phone": "the ward's registry: replaced by its next import, never by chat",
    "staff.code_hash": "the SHA-256 of a one-time staff code: names no one",
    "staff.name": "an official's or facilitator's name as the organiser gave it (work record)",
    "commitments.responsible": "who is responsible, as an official wrote it (work record)",
    "agencies.name": "an agency's name (public)",
    "consultation_themes.name": "a theme the facilitator named for opinions: no one's",
    "board_counts.name": "what the board counts (asked, answered, …): numbers, naming no one",
}


def personal_columns(metadata: MetaData) -> list[str]:
    """Every "table.column" of `metadata` whose name looks like it may hold personal data."""
    return sorted(
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if LOOKS_PERSONAL.search(column.name)
    )


def unregistered(metadata: MetaData) -> list[str]:
    """The columns that look personal and have no rule."""
    return [name for name in personal_columns(metadata) if name not in RULES]


async def forget_chat(session: AsyncSession, *, channel: str, user_id: str, now: datetime) -> None:
    """Erase a chat's address from every table where it is the chat's own (the account itself
    is deleted by the caller, after its questions and supports are released)."""
    await forget_recipient(session, channel=channel, recipient=user_id)
    for table in (RecipientPace, Conversation, HouseholdLink, UnconsentedChat):
        await session.execute(
            delete(table).where(table.channel == channel, table.user_id == user_id)
        )
    await session.execute(
        update(Staff)
        .where(Staff.channel == channel, Staff.user_id == user_id)
        .values(channel=None, user_id=None, revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def note_unconsented(
    session: AsyncSession, *, channel: str, user_id: str, now: datetime
) -> None:
    """This chat was answered without a consent in force: forget it later if it stays so.
    One statement (an upsert), so that two processes noting the same chat never collide."""
    row = {"channel": channel, "user_id": user_id, "seen_at": now}
    await session.execute(
        upsert(
            session, UnconsentedChat, keys=["channel", "user_id"], values=row, update=["seen_at"]
        )
    )


async def forget_unconsented(
    session: AsyncSession, *, now: datetime, after: timedelta, batch: int = 200
) -> int:
    """Forget up to `batch` chats last seen without consent more than `after` ago; a chat
    that has consented since is only taken off the list. How many chats were forgotten."""
    due = list(
        await session.scalars(
            select(UnconsentedChat)
            .where(UnconsentedChat.seen_at <= now - after)
            .order_by(UnconsentedChat.seen_at)
            .limit(batch)
        )
    )
    forgotten = 0
    for chat in due:
        channel, user_id = chat.channel, chat.user_id
        consented = await session.scalar(
            select(Account.id).where(Account.channel == channel, Account.user_id == user_id)
        )
        if consented is None:
            await forget_chat(session, channel=channel, user_id=user_id, now=now)
            forgotten += 1
        else:
            await session.delete(chat)
    await session.flush()
    return forgotten
