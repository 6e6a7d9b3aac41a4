"""Invitations: who was chosen for a dialogue, who waits behind them, and what they answered.

| status    | meaning                                                          |
|-----------|------------------------------------------------------------------|
| waitlist  | ranked behind the chosen, in its group                           |
| selected  | chosen, not yet invited                                          |
| invited   | the invitation is in the outbox for a linked chat                |
| letter    | no linked chat: a printed letter (giấy mời) is to be delivered   |
| accepted  | will attend                                                      |
| declined  | will not attend (the next of the group is invited instead)       |
| cancelled | the dialogue was cancelled                                       |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Household, Invitation

INVITED = ("invited", "letter", "accepted", "declined")
EXPECTED = ("invited", "letter", "accepted")  # still counted on to come, or asked to


class AlreadyInvited(Exception):
    """The dialogue's invitations have gone out: a new selection would change who was asked."""


async def save_selection(
    session: AsyncSession,
    *,
    dialogue_id: int,
    chosen: Iterable[tuple[int, str, int]],
    waiting: Iterable[tuple[int, str, int]],
) -> None:
    """Store a selection: (household_id, group, rank) for the chosen and the waitlist.

    A previous selection is replaced, unless invitations have gone out already.
    """
    gone_out = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(INVITED))
    )
    if gone_out:
        raise AlreadyInvited(dialogue_id)
    await session.execute(delete(Invitation).where(Invitation.dialogue_id == dialogue_id))
    rows = [
        {"dialogue_id": dialogue_id, "household_id": h, "group": g, "rank": r, "status": status}
        for status, picks in (("selected", chosen), ("waitlist", waiting))
        for h, g, r in picks
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(Invitation), rows[start : start + 5000])


@dataclass(frozen=True)
class Invitee:
    invitation: Invitation
    household: Household


async def with_status(
    session: AsyncSession, *, dialogue_id: int, statuses: Iterable[str]
) -> list[Invitee]:
    rows = await session.execute(
        select(Invitation, Household)
        .join(Household, Household.id == Invitation.household_id)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(list(statuses)))
        .order_by(Invitation.group, Invitation.rank)
    )
    return [Invitee(invitation, household) for invitation, household in rows]


async def next_on_waitlist(
    session: AsyncSession, *, dialogue_id: int, group: str
) -> Invitation | None:
    query = (
        select(Invitation)
        .where(
            Invitation.dialogue_id == dialogue_id,
            Invitation.group == group,
            Invitation.status == "waitlist",
        )
        .order_by(Invitation.rank)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two declines at once must not promote the same household.
        query = query.with_for_update(skip_locked=True)
    return await session.scalar(query)


async def for_household(
    session: AsyncSession, *, dialogue_id: int, household_id: int
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(
            Invitation.dialogue_id == dialogue_id, Invitation.household_id == household_id
        )
    )


async def counts(session: AsyncSession, *, dialogue_id: int) -> dict[tuple[str, str], int]:
    """(group, status) -> number of invitations."""
    rows = await session.execute(
        select(Invitation.group, Invitation.status, func.count())
        .where(Invitation.dialogue_id == dialogue_id)
        .group_by(Invitation.group, Invitation.status)
    )
    return {(group, status): n for group, status, n in rows}


async def record_attendance(
    session: AsyncSession, *, dialogue_id: int, household_ids: Iterable[int]
) -> int:
    """Mark who came; the others invited are marked as not having come."""
    present = list(household_ids)
    await session.execute(
        update(Invitation)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(INVITED))
        .values(attended=False)
    )
    result = await session.execute(
        update(Invitation)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.household_id.in_(present))
        .values(attended=True)
    )
    return result.rowcount or 0


async def cancel_all(session: AsyncSession, *, dialogue_id: int, now: datetime) -> None:
    await session.execute(
        update(Invitation)
        .where(Invitation.dialogue_id == dialogue_id)
        .values(status="cancelled", responded_at=now)
        .execution_options(synchronize_session=False)
    )
