"""What did not reach households: the messages of a dialogue (invitation, reminders, notices) that
ended undelivered, for the ward's printed list, the count of messages the platform's window
stopped (news of questions included, counted only), and the messages whose outcome is unknown."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox as outbox_store
from storage.links import link_channels
from storage.models import (
    Household,
    OutboxMessage,
    Reminder,
)
from storage.outbox import SEALED, UNDELIVERED, VIA, via_key

# The outbox keys of a dialogue's messages to its households (handlers.invitations), and of
# the news of its questions (handlers.pushback): "invite:D:HOUSEHOLD:CHANNEL",
# "remind:REMINDER:HOUSEHOLD", "moved:D:START:HOUSEHOLD", "cancelled:D:HOUSEHOLD",
# "sealed:D:HASH"; a copy sent through another channel adds ":via:CHANNEL".
HOUSEHOLD_KINDS = ("invite", "moved", "cancelled")


@dataclass(frozen=True)
class Stopped:
    """A message that ended undelivered, as last tried (its copy's, if it had one)."""

    key: str
    channel: str
    status: str


async def _reminders(session: AsyncSession, dialogue_ids: list[int]) -> dict[int, Reminder]:
    if not dialogue_ids:
        return {}
    rows = await session.scalars(select(Reminder).where(Reminder.dialogue_id.in_(dialogue_ids)))
    return {r.id: r for r in rows}


async def _stopped(
    session: AsyncSession,
    *,
    prefixes: list[str],
    statuses: tuple[str, ...],
    since: datetime | None = None,
) -> list[Stopped]:
    """The messages whose key starts with one of `prefixes`, ended in one of `statuses` (tried
    since `since`) and not delivered another way: a copy through another channel that was
    sent, or may have been (unknown), or is still on its way, counts as delivered.

    The rows are found by status first (few, and indexed), then by key; copies by their exact
    keys, so that the outbox's size does not matter.
    """
    if not prefixes:
        return []
    query = select(OutboxMessage.key, OutboxMessage.channel, OutboxMessage.status).where(
        OutboxMessage.status.in_(statuses),
        or_(*[OutboxMessage.key.startswith(p, autoescape=True) for p in prefixes]),
        OutboxMessage.key.not_like(f"%{VIA}%"),
    )
    if since is not None:
        query = query.where(OutboxMessage.send_at >= since)
    originals = [
        Stopped(key, channel, status) for key, channel, status in await session.execute(query)
    ]
    channels = await link_channels(session)
    stopped = [o for o in originals if o.status != "window"]
    windowed = [o for o in originals if o.status == "window"]
    copies: dict[str, Stopped] = {}
    keys = [via_key(o.key, c) for o in windowed for c in channels if c != o.channel]
    for start in range(0, len(keys), 500):
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.channel, OutboxMessage.status).where(
                OutboxMessage.key.in_(keys[start : start + 500])
            )
        )
        for key, channel, status in rows:
            copies[key.split(VIA, 1)[0]] = Stopped(key, channel, status)
    for original in windowed:
        copy = copies.get(original.key)
        if copy is None:
            stopped.append(original)
        elif copy.status in UNDELIVERED:
            stopped.append(Stopped(original.key, copy.channel, copy.status))
    return stopped


def _dialogue_prefixes(
    dialogue_ids: list[int], reminders: dict[int, Reminder], *, news: bool
) -> list[str]:
    prefixes = [f"{kind}:{d}:" for d in dialogue_ids for kind in HOUSEHOLD_KINDS]
    prefixes += [f"remind:{r}:" for r in reminders]
    if news:
        prefixes += [f"{SEALED}{d}:" for d in dialogue_ids]
    return prefixes


async def window_stopped(session: AsyncSession, *, dialogue_ids: list[int], since: datetime) -> int:
    """How many messages of these dialogues the platform's window stopped since `since` and
    that did not reach the person another way: invitations, reminders and notices to
    households, and the news of their questions to askers and followers (counted only: the
    keys of those name no one)."""
    reminders = await _reminders(session, dialogue_ids)
    found = await _stopped(
        session,
        prefixes=_dialogue_prefixes(dialogue_ids, reminders, news=True),
        statuses=("window",),
        since=since,
    )
    return len(found)


@dataclass(frozen=True)
class Missed:
    """One message of a dialogue that did not reach a household."""

    kind: str  # invite, remind, moved, cancelled
    reminder: Reminder | None  # the reminder, for "remind"
    channel: str  # where it was last tried
    status: str  # window, unreachable, failed, unknown (may not have arrived)


@dataclass
class UndeliveredHousehold:
    household: Household
    missed: list[Missed] = field(default_factory=list)


def _household_of(key: str) -> int | None:
    """The household a dialogue message went to, from its key: the last number in it (an old
    key may end with the channel)."""
    parts = key.split(VIA, 1)[0].split(":")
    if parts and not parts[-1].isdigit():
        parts = parts[:-1]
    return int(parts[-1]) if parts and parts[-1].isdigit() else None


async def undelivered(session: AsyncSession, *, dialogue_id: int) -> list[UndeliveredHousehold]:
    """The households of a dialogue whose invitation, reminders or notices ended undelivered
    (stopped by the window, unreachable or refused) or may not have arrived (cut off while
    sending: unknown), and did not reach them another way, by hamlet and code: the ward reads
    them out or takes them by hand. Messages to households only: nothing of askers or of the
    news of questions."""
    reminders = await _reminders(session, [dialogue_id])
    found = await _stopped(
        session,
        prefixes=_dialogue_prefixes([dialogue_id], reminders, news=False),
        statuses=(*UNDELIVERED, "unknown"),
    )
    missed: dict[int, list[Missed]] = defaultdict(list)
    for item in found:
        household_id = _household_of(item.key)
        kind = item.key.split(":", 1)[0]
        if household_id is None:
            continue
        reminder = reminders.get(int(item.key.split(":")[1])) if kind == "remind" else None
        missed[household_id].append(Missed(kind, reminder, item.channel, item.status))
    if not missed:
        return []
    households = await session.scalars(select(Household).where(Household.id.in_(list(missed))))
    order = {"invite": 0, "remind": 1, "moved": 2, "cancelled": 3}

    def when(m: Missed) -> tuple[int, float]:
        return order.get(m.kind, 9), m.reminder.due_at.timestamp() if m.reminder else 0.0

    result = [UndeliveredHousehold(h, sorted(missed[h.id], key=when)) for h in households]
    return sorted(result, key=lambda u: (u.household.hamlet, u.household.code))


@dataclass(frozen=True)
class UnknownMessage:
    """A message whose fate is unknown (its process died mid-request): it may have arrived."""

    id: int
    kind: str  # invite, remind, moved, cancelled, or another key's first word
    channel: str
    household: Household | None  # for a household's own message
    created_at: datetime
    resendable: bool  # kept its text: the organiser may send it again


async def unknown_messages(
    session: AsyncSession, *, dialogue_id: int | None = None
) -> list[UnknownMessage]:
    """Every message whose fate is unknown, or a dialogue's (its households' invitation,
    reminders and notices), oldest first."""
    prefixes = None
    if dialogue_id is not None:
        reminders = await _reminders(session, [dialogue_id])
        prefixes = _dialogue_prefixes([dialogue_id], reminders, news=False)
    rows = await outbox_store.unknown(session, prefixes=prefixes)
    kinds = {"invite", "remind", "moved", "cancelled"}
    ids = {
        household
        for _, key, *_ in rows
        if key.split(":", 1)[0] in kinds and (household := _household_of(key)) is not None
    }
    households = {
        h.id: h for h in await session.scalars(select(Household).where(Household.id.in_(list(ids))))
    }
    found = []
    for row_id, key, channel, _recipient, created_at, resendable in rows:
        kind = key.split(":", 1)[0]
        household = households.get(_household_of(key)) if kind in kinds else None
        found.append(UnknownMessage(row_id, kind, channel, household, created_at, resendable))
    return found
