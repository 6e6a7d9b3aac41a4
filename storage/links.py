"""Chats linked to households: by the household's code (deep link, QR) or by phone number.

Wrong codes are throttled per address, so that codes cannot be found by guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Household, HouseholdLink, LinkAttempt

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Throttle:
    blocked: bool
    retry_after: timedelta = timedelta(0)
    left: int = MAX_FAILURES


async def throttle(session: AsyncSession, *, key: str, now: datetime) -> Throttle:
    """Whether the address whose keyed hash is `key` may try another code now."""
    attempt = await session.get(LinkAttempt, key)
    if attempt is None or now - attempt.window_start >= WINDOW:
        return Throttle(False)
    if attempt.failures >= MAX_FAILURES:
        return Throttle(True, attempt.window_start + WINDOW - now, 0)
    return Throttle(False, left=MAX_FAILURES - attempt.failures)


async def record_failure(session: AsyncSession, *, key: str, now: datetime) -> Throttle:
    """One more wrong code from the address whose keyed hash is `key` (never the address:
    this is written before any consent)."""
    attempt = await session.get(LinkAttempt, key)
    if attempt is None:
        attempt = LinkAttempt(key=key, failures=0, window_start=now)
        session.add(attempt)
    elif now - attempt.window_start >= WINDOW:
        attempt.failures, attempt.window_start = 0, now
    attempt.failures += 1
    await session.flush()
    return Throttle(attempt.failures >= MAX_FAILURES, left=MAX_FAILURES - attempt.failures)


async def expire_attempts(session: AsyncSession, *, now: datetime) -> int:
    """Forget the wrong codes whose window has ended (the clock calls this)."""
    result = await session.execute(
        delete(LinkAttempt).where(LinkAttempt.window_start <= now - WINDOW)
    )
    return result.rowcount or 0


async def household_of(session: AsyncSession, *, channel: str, user_id: str) -> Household | None:
    return await session.scalar(
        select(Household)
        .join(HouseholdLink, HouseholdLink.household_id == Household.id)
        .where(HouseholdLink.channel == channel, HouseholdLink.user_id == user_id)
    )


async def links_of(session: AsyncSession, *, household_id: int) -> list[HouseholdLink]:
    """The household's chats, the one it used last first."""
    rows = await session.scalars(
        select(HouseholdLink)
        .where(HouseholdLink.household_id == household_id)
        .order_by(HouseholdLink.last_used_at.desc(), HouseholdLink.id.desc())
    )
    return list(rows)


async def link(
    session: AsyncSession, *, household: Household, channel: str, user_id: str, now: datetime
) -> str:
    """Link the chat to the household: "linked", "already" (this chat), or "taken" (another
    chat of the same channel holds the household; the first link stands)."""
    existing = await session.scalar(
        select(HouseholdLink).where(
            HouseholdLink.household_id == household.id, HouseholdLink.channel == channel
        )
    )
    if existing is not None:
        return "already" if existing.user_id == user_id else "taken"
    mine = await session.scalar(
        select(HouseholdLink).where(
            HouseholdLink.channel == channel, HouseholdLink.user_id == user_id
        )
    )
    if mine is not None:  # this chat moves to the household whose code it now gives
        await session.delete(mine)
        await session.flush()
    session.add(
        HouseholdLink(
            household_id=household.id,
            channel=channel,
            user_id=user_id,
            linked_at=now,
            last_used_at=now,
        )
    )
    await session.flush()
    return "linked"


async def unlink_address(session: AsyncSession, *, channel: str, user_id: str) -> None:
    mine = await session.scalar(
        select(HouseholdLink).where(
            HouseholdLink.channel == channel, HouseholdLink.user_id == user_id
        )
    )
    if mine is not None:
        await session.delete(mine)
        await session.flush()


async def touch(session: AsyncSession, *, channel: str, user_id: str, at: datetime) -> None:
    """The household used this chat now: its next messages go here. One UPDATE, no read."""
    await session.execute(
        update(HouseholdLink)
        .where(HouseholdLink.channel == channel, HouseholdLink.user_id == user_id)
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )


async def households_of(
    session: AsyncSession, *, addresses: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(channel, user_id) -> household id, for those of these chats linked to a household."""
    if not addresses:
        return {}
    found: dict[tuple[str, str], int] = {}
    for channel in {channel for channel, _ in addresses}:
        user_ids = [user_id for c, user_id in addresses if c == channel]
        rows = await session.execute(
            select(HouseholdLink.user_id, HouseholdLink.household_id).where(
                HouseholdLink.channel == channel, HouseholdLink.user_id.in_(user_ids)
            )
        )
        for user_id, household_id in rows:
            found[(channel, user_id)] = household_id
    return found


async def last_used(
    session: AsyncSession, *, household_ids: list[int]
) -> dict[int, tuple[str, str]]:
    """Household id -> the (channel, user_id) of the chat it used last: where its messages go."""
    if not household_ids:
        return {}
    rows = await session.execute(
        select(HouseholdLink.household_id, HouseholdLink.channel, HouseholdLink.user_id)
        .where(HouseholdLink.household_id.in_(household_ids))
        .order_by(HouseholdLink.last_used_at, HouseholdLink.id)
    )
    found: dict[int, tuple[str, str]] = {}
    for household_id, channel, user_id in rows:
        found[household_id] = (channel, user_id)  # the last used wins
    return found


async def other_channel(
    session: AsyncSession, *, channel: str, user_id: str, channels: list[str]
) -> tuple[str, str] | None:
    """The chat to try when a message could not reach this one: the household's chat on
    another of `channels`, the one it used last; None if the chat is linked to no household or
    the household has no chat elsewhere."""
    household_id = await session.scalar(
        select(HouseholdLink.household_id).where(
            HouseholdLink.channel == channel, HouseholdLink.user_id == user_id
        )
    )
    if household_id is None:
        return None
    row = (
        await session.execute(
            select(HouseholdLink.channel, HouseholdLink.user_id)
            .where(
                HouseholdLink.household_id == household_id,
                HouseholdLink.channel != channel,
                HouseholdLink.channel.in_(channels),
            )
            .order_by(HouseholdLink.last_used_at.desc(), HouseholdLink.id.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def link_channels(session: AsyncSession) -> list[str]:
    """The channels households are linked on (where a message can be delivered another way)."""
    return sorted(set(await session.scalars(select(HouseholdLink.channel).distinct())))
