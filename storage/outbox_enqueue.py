"""Adding messages to the outbox, one or many (once per idempotency key), and a message's
copy through the household's other channel (KEY:via:CHANNEL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, OutboxMessage
from storage.outbox_rows import (
    PRIORITY_BROADCAST,
    PRIORITY_REPLY,
    PRUNABLE,
    SEALED,
    Claimed,
    Status,
    _insert,
    forgotten,
)


def _row(key: str, channel: str, recipient: str, body: Any, priority: int, now: datetime) -> dict:
    return {
        "key": key,
        "channel": channel,
        "recipient": recipient,
        "priority": priority,
        "body": body,
        "status": Status.PENDING,
        "attempts": 0,
        "not_before": now,
        "created_at": now,
    }


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    recipient: str,
    body: dict[str, Any],
    now: datetime,
    priority: int = PRIORITY_REPLY,
) -> bool:
    """Add a message unless one with this idempotency key exists; True if added."""
    statement = (
        _insert(session)(OutboxMessage)
        .values(_row(key, channel, recipient, body, priority, now))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)
    )
    return (await session.execute(statement)).first() is not None


@dataclass(frozen=True)
class Outgoing:
    """A message to add with enqueue_many."""

    key: str
    channel: str
    recipient: str
    body: dict[str, Any]
    priority: int = PRIORITY_BROADCAST


CHUNK = 5000


async def enqueue_many(session: AsyncSession, *, messages: list[Outgoing], now: datetime) -> int:
    """Add many messages at once; those whose key exists already are left as they are.

    Returns how many rows this call really inserted (the database says so row by row, whatever
    other writers do meanwhile). One multi-row INSERT per few thousand messages.
    """
    statement = (
        _insert(session)(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)
    )
    added = 0
    for start in range(0, len(messages), CHUNK):
        chunk = messages[start : start + CHUNK]
        blocked = await blocked_recipients(
            session,
            addresses=[(m.channel, m.recipient) for m in chunk if not m.key.startswith(PRUNABLE)],
        )
        rows = [
            _row(m.key, m.channel, m.recipient, m.body, m.priority, now)
            if (m.channel, m.recipient) not in blocked
            else _row_unreachable(m, now)
            for m in chunk
        ]
        if blocked:  # every row of one INSERT names the same columns
            for row in rows:
                row.setdefault("error", None)
        added += len((await session.execute(statement, rows)).all())
    return added


async def blocked_recipients(
    session: AsyncSession, *, addresses: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (channel, user_id) among these known to have blocked the bot: their account is
    marked unreachable until they write again. (Replies are not looked up by enqueue_many:
    they answer someone who just wrote, which made them reachable again.)"""
    wanted = set(addresses)
    if not wanted:
        return set()
    rows = await session.execute(
        select(Account.channel, Account.user_id).where(
            Account.unreachable_at.is_not(None),
            Account.user_id.in_(sorted({user_id for _, user_id in wanted})),
        )
    )
    return {(channel, user_id) for channel, user_id in rows} & wanted


def _row_unreachable(m: Outgoing, now: datetime) -> dict:
    """A message to someone who blocked the bot: recorded unreachable, never requested."""
    row = _row(m.key, m.channel, m.recipient, None, m.priority, now)
    row.update(
        status=Status.UNREACHABLE,
        recipient=forgotten(m.key, m.recipient),
        error="blocked the bot earlier: not tried until they write again",
    )
    return row


VIA = ":via:"
# What may go to a household's other chat: its invitation, reminders and notices
# (bot.services.invitations) and the news of questions (bot.services.pushback), which go to the
# household's chats anyway. Not staff messages (a role belongs to one chat) nor replies.
REROUTABLE = ("invite:", "remind:", "moved:", "cancelled:", SEALED, "consult:")  # + consultations


def via_key(key: str, channel: str) -> str:
    """The key of a message's copy sent through another channel: once per channel."""
    return f"{key}{VIA}{channel}"


def reroutable(message: Claimed) -> bool:
    """A message takes one detour at most, and only the household's own kinds do."""
    return VIA not in message.key and message.key.startswith(REROUTABLE) and bool(message.body)


async def deliver_another_way(
    session: AsyncSession, *, message: Claimed, channel: str, recipient: str, now: datetime
) -> bool:
    """Enqueue the same message to another chat (the household's on another channel), keyed
    KEY:via:CHANNEL so that it goes once; called before the row's body is dropped. True if the
    copy is new."""
    if not reroutable(message):
        return False
    return await enqueue(
        session,
        key=via_key(message.key, channel),
        channel=channel,
        recipient=recipient,
        body=message.body,
        now=now,
        priority=message.priority,
    )
