"""The outbox: every outgoing message as a row, claimed, sent once, its outcome recorded.

A row goes pending -> claimed (taken by one process, with a lease) -> sending (committed just
before its HTTP call, after every wait) -> sent | failed | unreachable | unknown | window, or
back to pending after a throttle, a retry or a slot its process missed. A row found still
"claimed" after its lease was never sent and goes back to pending; one still "sending" was cut
off mid-call: it may have arrived, so it becomes "unknown" and is listed for the organiser,
never resent by itself (`resend` is the organiser's decision).

The rate budget is a row per channel: the next free sending slot, shared by every process.
Slots are granted one per message claimed, 1/rate apart; a process sends at most one message
per slot it holds, never before the slot and never long after it (bot/outbox.py), so that
several processes together keep the platform's rate in every second.

A person's messages go one at a time: a row is claimable only when none of the same person's
is claimed or sending, and not before the person's pace (`recipient_paces`, written when the
previous send finished, plus the channel's spacing).

"window": the platform takes messages to a person only for a while after they last wrote to
us (Zalo); such a row is never retried on its channel, and a copy keyed KEY:via:CHANNEL may go
to the household's chat on another channel.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Account, OutboxMessage, ProcessedUpdate, RateBudget, RecipientPace
from storage.upsert import dialect_insert

PRIORITY_REPLY = 0
PRIORITY_REMINDER = 10
PRIORITY_BROADCAST = 20


class Status(StrEnum):
    """Where an outbox row stands."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"
    WINDOW = "window"


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


@dataclass(frozen=True)
class Claim:
    """What one claim took: the messages, one sending slot each (in order), and, when some
    person's message was held back for their pace, when it may be claimed."""

    messages: list[Claimed]
    slots: list[datetime]
    retry_at: datetime | None = None
    full: bool = False  # as many as the budget had room for: there may be more


BUDGETS = RateBudget.__table__
ROWS = OutboxMessage.__table__
PACES = RecipientPace.__table__


async def _budget_next(session: AsyncSession, *, channel: str, now: datetime) -> datetime:
    """The channel's next free slot, its row locked for this transaction (created on first
    use): one statement. Every claimer of a channel queues here, whatever the number of
    processes (on SQLite the transaction's BEGIN IMMEDIATE already serialises them)."""
    statement = _insert(session)(BUDGETS).values(channel=channel, next_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["channel"], set_={"channel": statement.excluded.channel}
    ).returning(BUDGETS.c.next_at)
    connection = await session.connection()
    return (await connection.execute(statement)).scalar_one()


async def _budget_moved(session: AsyncSession, *, channel: str, to: datetime) -> None:
    connection = await session.connection()
    await connection.execute(update(BUDGETS).where(BUDGETS.c.channel == channel).values(next_at=to))


def _slots(first: datetime, interval: timedelta, count: int) -> list[datetime]:
    return [first + interval * n for n in range(count)]


async def grant_slots(
    session: AsyncSession, *, channel: str, now: datetime, interval: timedelta, count: int
) -> list[datetime]:
    """`count` more sending slots from the shared budget, for messages already claimed whose
    slots went by unused (a stalled process): the budget never gives a slot twice."""
    next_at = await _budget_next(session, channel=channel, now=now)
    slots = _slots(max(now, next_at), interval, count)
    if slots:
        await _budget_moved(session, channel=channel, to=slots[-1] + interval)
    return slots


def _due(channel: str, now: datetime):  # type: ignore[no-untyped-def]
    """Pending rows of `channel` that are due, whose person has none held and whose pace
    allows one now."""
    held = aliased(OutboxMessage)
    return (
        select(OutboxMessage.id, OutboxMessage.recipient)
        .outerjoin(
            RecipientPace,
            and_(
                RecipientPace.channel == OutboxMessage.channel,
                RecipientPace.user_id == OutboxMessage.recipient,
            ),
        )
        .where(
            OutboxMessage.status == Status.PENDING,
            OutboxMessage.channel == channel,
            OutboxMessage.not_before <= now,
            or_(RecipientPace.next_at.is_(None), RecipientPace.next_at <= now),
            ~exists().where(
                held.channel == OutboxMessage.channel,
                held.recipient == OutboxMessage.recipient,
                held.status.in_(HELD),
            ),
        )
    )


async def claim_due(
    session: AsyncSession,
    *,
    channel: str,
    now: datetime,
    interval: timedelta,
    limit: int,
    horizon: timedelta = timedelta(seconds=1),
) -> Claim:
    """Claim the due rows that fit in the channel's budget over the next `horizon`, highest
    priority first, at most one per person; each gets a slot, 1/rate apart across every
    process. Rows are marked "claimed" with a token and a lease; the caller commits, then
    marks each "sending" just before its slot (`mark_sending`)."""
    first = max(now, await _budget_next(session, channel=channel, now=now))
    room = min(limit, int((now + horizon - first) / interval) + 1)
    if room <= 0:  # other processes hold the budget's next `horizon`: come back then
        return Claim([], [], retry_at=first - horizon)
    query = _due(channel, now).order_by(OutboxMessage.priority, OutboxMessage.id).limit(room * 2)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=OutboxMessage, skip_locked=True)
    connection = await session.connection()
    chosen: dict[str, int] = {}  # one per person: their oldest, of the highest priority
    for row_id, recipient in await connection.execute(query):
        if len(chosen) < room:
            chosen.setdefault(recipient, row_id)
    token = secrets.token_hex(8)
    messages: list[Claimed] = []
    if chosen:
        claimed = await connection.execute(
            update(ROWS)
            .where(ROWS.c.id.in_(list(chosen.values())))
            .values(status=Status.CLAIMED, claim=token, lease_until=now + LEASE_CLAIMED)
            .returning(
                ROWS.c.id,
                ROWS.c.recipient,
                ROWS.c.body,
                ROWS.c.key,
                ROWS.c.priority,
                ROWS.c.attempts,
            )
        )
        messages = [
            Claimed(row_id, channel, recipient, dict(body or {}), token, key, priority, attempts)
            for row_id, recipient, body, key, priority, attempts in claimed
        ]
        messages.sort(key=lambda m: (m.priority, m.id))
    slots = _slots(first, interval, len(messages))
    if slots:
        await _budget_moved(session, channel=channel, to=slots[-1] + interval)
    full = len(messages) == room
    retry_at = None if full else await _paced_until(session, channel, now)
    return Claim(messages, slots, retry_at, full)


async def _paced_until(session: AsyncSession, channel: str, now: datetime) -> datetime | None:
    """When the first due row held back by its person's pace may go."""
    return await session.scalar(
        select(func.min(RecipientPace.next_at))
        .join(
            OutboxMessage,
            and_(
                RecipientPace.channel == OutboxMessage.channel,
                RecipientPace.user_id == OutboxMessage.recipient,
            ),
        )
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == Status.PENDING,
            OutboxMessage.not_before <= now,
            RecipientPace.next_at > now,
        )
    )


async def anything_due(session: AsyncSession, *, channel: str, now: datetime) -> bool:
    """Whether a claim could find something now: one indexed read, no lock taken."""
    return (await session.scalar(select(_due(channel, now).limit(1).exists()))) or False


async def mark_sending(
    session: AsyncSession, *, messages: Iterable[Claimed], now: datetime
) -> set[int]:
    """Just before their HTTP calls: the ids still ours (a lease that ran out voids a claim)."""
    marked: set[int] = set()
    by_claim: dict[str, list[int]] = {}
    for message in messages:
        by_claim.setdefault(message.claim, []).append(message.id)
    connection = await session.connection()
    for token, ids in by_claim.items():
        result = await connection.execute(
            update(ROWS)
            .where(ROWS.c.id.in_(ids), ROWS.c.status == Status.CLAIMED, ROWS.c.claim == token)
            .values(status=Status.SENDING, send_at=now, lease_until=now + LEASE_SENDING)
            .returning(ROWS.c.id)
        )
        marked.update(result.scalars())
    return marked


async def give_back(session: AsyncSession, *, messages: Iterable[Claimed]) -> None:
    """Rows a process claimed (or marked sending) and did not send: pending again, at once."""
    ids = [m.id for m in messages]
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status.in_(HELD))
            .values(status=Status.PENDING, claim=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


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


@dataclass(frozen=True)
class Finished:
    """A final outcome to record: status sent, failed, unreachable, unknown or window."""

    message: Claimed
    status: Status
    at: datetime
    reason: str = ""


_FINISH = (
    update(ROWS)
    .where(ROWS.c.id == bindparam("row_id"))
    .values(
        status=bindparam("to_status"),
        body=bindparam("to_body"),
        # A recipient forgotten while the row was on the wire stays forgotten.
        recipient=case((ROWS.c.recipient == "", ""), else_=bindparam("to_recipient")),
        sent_at=bindparam("to_sent_at"),
        error=bindparam("to_error"),
        lease_until=None,
        claim=None,
    )
)


async def finish_many(
    session: AsyncSession, *, finished: list[Finished], spacing: timedelta
) -> None:
    """Record final outcomes in one statement, and each person's pace (their next message no
    sooner than `spacing` after this one's send finished) in another."""
    if not finished:
        return
    connection = await session.connection()
    await connection.execute(
        _FINISH,
        [
            {
                "row_id": f.message.id,
                "to_status": f.status,
                "to_body": kept_body(f.message.key, f.status, f.message.body),
                "to_recipient": forgotten(f.message.key, f.message.recipient),
                "to_sent_at": f.at if f.status is Status.SENT else None,
                "to_error": f.reason[:500] or None,
            }
            for f in finished
        ],
    )
    paces = {(f.message.channel, f.message.recipient): f.at + spacing for f in finished}
    statement = _insert(session)(PACES)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "user_id"], set_={"next_at": statement.excluded.next_at}
        ),
        [{"channel": c, "user_id": u, "next_at": at} for (c, u), at in paces.items()],
    )


def backoff(attempts: int) -> timedelta:
    """The wait before try number `attempts + 1`: doubling from BACKOFF_FIRST, capped."""
    return min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1))


async def retry_later(
    session: AsyncSession, *, message: Claimed, not_before: datetime, reason: str
) -> bool:
    """Count a failed try: pending again from `not_before`, or failed for good once it has
    been tried MAX_ATTEMPTS times. True if it will be tried again."""
    attempts = message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        reason = f"gave up after {attempts} attempts: {reason}"
        values: dict[str, Any] = {
            "status": Status.FAILED,
            "body": None,
            "recipient": forgotten(message.key, message.recipient),
        }
    else:
        # Not again to a recipient forgotten meanwhile (forget_recipient).
        gone = OutboxMessage.recipient == ""
        values = {
            "status": case((gone, Status.FAILED), else_=Status.PENDING),
            "body": case((gone, None), else_=OutboxMessage.body),
            "not_before": not_before,
        }
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(attempts=attempts, claim=None, lease_until=None, error=reason[:500], **values)
        .execution_options(synchronize_session=False)
    )
    return attempts < MAX_ATTEMPTS


async def mark_recipient_unreachable(
    session: AsyncSession, *, channel: str, recipient: str, reason: str
) -> int:
    """Every message waiting for this person: never to be tried (they blocked us)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == Status.PENDING,
        )
        .values(
            status=Status.UNREACHABLE,
            body=None,
            lease_until=None,
            error=reason[:500],
            recipient=_forgotten_recipient(),
        )
    )
    return result.rowcount or 0


async def expire_leases(session: AsyncSession, *, now: datetime) -> int:
    """Recover what a dead process held (run by the clock's tick, not on every claim).

    A row still "claimed" was never handed to the platform: it goes back to pending. A row
    still "sending" may or may not have arrived: its fate is unknown, and it is not resent.
    """
    returned = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Status.CLAIMED, OutboxMessage.lease_until < now)
        .values(status=Status.PENDING, claim=None, lease_until=None)
    )
    lost = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Status.SENDING, OutboxMessage.lease_until < now)
        .values(
            status=Status.UNKNOWN,
            body=case(
                (or_(*(OutboxMessage.key.startswith(p) for p in RESENDABLE)), OutboxMessage.body),
                else_=None,
            ),
            lease_until=None,
            claim=None,
            error="cut off while sending: it may or may not have arrived",
            recipient=_forgotten_recipient(),
        )
    )
    return (returned.rowcount or 0) + (lost.rowcount or 0)


async def prune_paces(session: AsyncSession, *, now: datetime) -> int:
    """Forget the pace of people who have not been sent anything for a while."""
    result = await session.execute(
        delete(RecipientPace).where(RecipientPace.next_at < now - timedelta(minutes=5))
    )
    return result.rowcount or 0


async def drop_pending_to(session: AsyncSession, *, channel: str, recipient: str) -> int:
    """Forget what was waiting for someone who deleted their data (their last reply is added after)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == Status.PENDING,
        )
        .values(status=Status.FAILED, body=None, error="recipient deleted their data")
    )
    return result.rowcount or 0


FORGOTTEN = "recipient deleted their data"


async def forget_recipient(session: AsyncSession, *, channel: str, recipient: str) -> int:
    """Erase a chat's address from the outbox, as "sealed:" rows are once final: what was
    waiting for it (or had an unknown fate that an organiser could resend) is failed and
    dropped, and every other row keeps an empty recipient, those on the wire too (their
    outcome is recorded without it, and they are not tried again). How many rows changed."""
    at = (OutboxMessage.channel == channel, OutboxMessage.recipient == recipient)
    # Waiting, claimed but not yet sending (mark_sending then skips it), or of unknown fate.
    waiting = await session.execute(
        update(OutboxMessage)
        .where(*at, OutboxMessage.status.in_((Status.PENDING, Status.CLAIMED, Status.UNKNOWN)))
        .values(
            status=Status.FAILED,
            body=None,
            recipient="",
            claim=None,
            lease_until=None,
            error=FORGOTTEN,
        )
        .execution_options(synchronize_session=False)
    )
    # Finished, or on the wire (its outcome is then recorded without the address).
    finished = await session.execute(
        update(OutboxMessage)
        .where(*at)
        .values(
            recipient="",
            body=case((OutboxMessage.status == Status.SENDING, OutboxMessage.body), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    return (waiting.rowcount or 0) + (finished.rowcount or 0)


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows by status, the whole table (for tests and small databases)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows}


async def waiting(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows not yet final, and unknown ones: an index range (the statuses
    that stay few), however large the table."""
    rows = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_((*IN_FLIGHT, Status.UNKNOWN)))
        .group_by(OutboxMessage.channel, OutboxMessage.status)
    )
    return {(channel, status): n for channel, status, n in rows}


async def status_counts(session: AsyncSession, *, prefix: str) -> dict[str, int]:
    """Rows by status among those whose key starts with `prefix` (one dialogue's invitations,
    say): a range of the key's index."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(key_range(prefix))
        .group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows}


# ---------------------------------------------------------------------------- unknown outcomes


def key_range(prefix: str) -> Any:
    """Keys starting with `prefix`, as a range the unique index on `key` answers."""
    return and_(OutboxMessage.key >= prefix, OutboxMessage.key < prefix + "\U0010ffff")


async def unknown(session: AsyncSession, *, prefixes: list[str] | None = None) -> list[tuple]:
    """(id, key, channel, recipient, created_at, resendable) of rows whose outcome is unknown,
    the oldest first; only keys starting with one of `prefixes` when given."""
    query = select(
        OutboxMessage.id,
        OutboxMessage.key,
        OutboxMessage.channel,
        OutboxMessage.recipient,
        OutboxMessage.created_at,
        OutboxMessage.body.is_not(None),
    ).where(OutboxMessage.status == Status.UNKNOWN)
    if prefixes:
        query = query.where(or_(*(key_range(prefix) for prefix in prefixes)))
    return list(await session.execute(query.order_by(OutboxMessage.id)))


async def resend(session: AsyncSession, *, ids: list[int], now: datetime) -> list[int]:
    """The organiser decided: send these unknown rows again (those that kept their body: a
    household's invitation, reminders and notices); returns the ids made pending."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == Status.UNKNOWN,
            OutboxMessage.body.is_not(None),
        )
        .values(status=Status.PENDING, not_before=now, attempts=0, error=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


# ----------------------------------------------------------------------------------- retention

# Replies are kept only to make a redelivered update idempotent; the processed-update keys they
# pair with are pruned at the same age. Every other key (invitations, reminders, notices,
# news) stays: it is what makes running a command twice send nothing twice.
PRUNABLE = "reply:"


async def prune(session: AsyncSession, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` finished replies and processed-update keys older than `before`;
    how many rows went (call again while it returns `batch`)."""
    old_replies = (
        select(OutboxMessage.id)
        .where(
            key_range(PRUNABLE),
            OutboxMessage.status.not_in(IN_FLIGHT),
            OutboxMessage.created_at < before,
        )
        .limit(batch)
    )
    replies = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(old_replies.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    old_keys = (
        select(ProcessedUpdate.channel, ProcessedUpdate.key)
        .where(ProcessedUpdate.processed_at < before)
        .limit(batch)
    )
    keys = await session.execute(
        delete(ProcessedUpdate)
        .where(tuple_(ProcessedUpdate.channel, ProcessedUpdate.key).in_(old_keys))
        .execution_options(synchronize_session=False)
    )
    return max(replies.rowcount or 0, keys.rowcount or 0)


# ------------------------------------------------------------------------- the other channel

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
