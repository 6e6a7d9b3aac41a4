"""What an outbox row is: its priorities, states and leases, the kinds of keys, what a
claimed row carries and what a final row keeps (storage/outbox.py tells the whole)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import OutboxStatus
from storage.models import OutboxMessage
from storage.upsert import dialect_insert

PRIORITY_REPLY = 0
PRIORITY_REMINDER = 10
PRIORITY_BROADCAST = 20

# Where an outbox row stands: the lifecycle's one definition (bot.core.lifecycles).
Status = OutboxStatus

IN_FLIGHT = (Status.PENDING, Status.CLAIMED, Status.SENDING)
HELD = (Status.CLAIMED, Status.SENDING)  # taken by a process
# Final states in which the message did not reach the person.
UNDELIVERED = (Status.WINDOW, Status.UNREACHABLE, Status.FAILED)

# A claimed row's slot is a second or two away at most; a lease well past it.
LEASE_CLAIMED = timedelta(seconds=20)
# A row marked sending is on the wire for the length of one HTTP call, retries included.
LEASE_SENDING = timedelta(seconds=120)
LEASE = LEASE_SENDING  # the longest a dead process can hold a row

# Retries of what failed without reaching the platform: 5 s, 10 s, 20 s, ... up to 15 minutes,
# then the message is recorded as failed.
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=15)


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return dialect_insert(session)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    body: dict[str, Any]
    claim: str
    key: str = ""
    priority: int = PRIORITY_REPLY
    attempts: int = 0  # failed tries so far


ROWS = OutboxMessage.__table__


# In every final state the body is dropped: the database keeps that a message went (or not)
# and to whom, never what it said beside whom it was for (receipts name tickets; the chat
# itself holds the text).

SEALED = "sealed:"
# A household's own messages, which name no question: kept whole when their fate is unknown,
# so that the organiser can decide to send them again (`doithoai outbox resend`).
RESENDABLE = ("invite:", "remind:", "moved:", "cancelled:")


def kept_body(key: str, status: Status, body: Any) -> Any:
    """What a row keeps of its body in `status`: nothing once final, but for an unknown fate of
    a household's own message."""
    if status is Status.UNKNOWN and key.startswith(RESENDABLE):
        return body
    return None


def forgotten(key: str, recipient: str) -> str:
    """The recipient a final row keeps: none for "sealed:" rows, the news of a question sent to
    its asker and followers, where the address beside the day would say who followed it."""
    return "" if key.startswith(SEALED) else recipient


def _forgotten_recipient() -> Any:
    """`forgotten` in SQL, for rows finished in bulk."""
    return case((OutboxMessage.key.startswith(SEALED), ""), else_=OutboxMessage.recipient)


def key_range(prefix: str) -> Any:
    """Keys starting with `prefix`, as a range the unique index on `key` answers."""
    return and_(OutboxMessage.key >= prefix, OutboxMessage.key < prefix + "\U0010ffff")


# Replies are kept only to make a redelivered update idempotent; the processed-update keys they
# pair with are pruned at the same age. Every other key (invitations, reminders, notices,
# news) stays: it is what makes running a command twice send nothing twice.
PRUNABLE = "reply:"
