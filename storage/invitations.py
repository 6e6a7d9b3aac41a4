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

A household invited by letter that links a chat becomes "invited" on it (`adopt_letters`).
Each printed letter is recorded (`letter_printed_at`): a second `invite` prints only the new
ones; a move or cancel marks those still held with the old time (`letter_outdated_at`), for
`invite --letters --changed` and `undelivered`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import (
    DialogueStatus,
    InvitationStatus,
    sources,
    transition,
)
from storage.db import refresh_statistics
from storage.models import Account, Dialogue, Household, HouseholdLink, Invitation, OutboxMessage
from storage.outbox import UNDELIVERED, key_range

INVITED = (
    InvitationStatus.INVITED,
    InvitationStatus.LETTER,
    InvitationStatus.ACCEPTED,
    InvitationStatus.DECLINED,
)
# still counted on to come, or asked to
EXPECTED = (InvitationStatus.INVITED, InvitationStatus.LETTER, InvitationStatus.ACCEPTED)


class AlreadyInvited(Exception):
    """The dialogue's invitations have gone out: a new selection would change who was asked."""


async def save_selection(
    session: AsyncSession,
    *,
    dialogue_id: int,
    chosen: Iterable[tuple[int, str, int]],
    waiting: Iterable[tuple[int, str, int]],
    waitlist_depth: int | None = None,
) -> None:
    """Store a selection: (household_id, group, rank) for the chosen and the waitlist.

    A previous selection is replaced, unless invitations have gone out already. With
    `waitlist_depth`, only the first that many of each group's waitlist are kept: a session of
    80 needs a few dozen replacements, not the rest of a province's registry.
    """
    if waitlist_depth is not None:
        kept: dict[str, int] = {}
        shortened = []
        for household_id, group, rank in sorted(waiting, key=lambda pick: pick[2]):
            if kept.get(group, 0) < waitlist_depth:
                kept[group] = kept.get(group, 0) + 1
                shortened.append((household_id, group, rank))
        waiting = shortened
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
        for status, picks in (
            (InvitationStatus.SELECTED, chosen),
            (InvitationStatus.WAITLIST, waiting),
        )
        for h, g, r in picks
    ]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement over arrays: PostgreSQL unnests them faster than any executemany.
        column = {name: [row[name] for row in rows] for name in ("household_id", "group", "rank")}
        await session.execute(
            insert(Invitation.__table__).from_select(
                ["dialogue_id", "household_id", "group", "rank", "status"],
                select(
                    literal(dialogue_id, Integer()),
                    func.unnest(literal(column["household_id"], ARRAY(Integer()))),
                    func.unnest(literal(column["group"], ARRAY(String()))),
                    func.unnest(literal(column["rank"], ARRAY(Integer()))),
                    func.unnest(literal([row["status"] for row in rows], ARRAY(String()))),
                ),
            )
        )
        await refresh_statistics(session, "invitations")  # `invite` reads them next
        return
    connection = await session.connection()  # Core executemany: no ORM work per row
    for start in range(0, len(rows), 5000):
        await connection.execute(insert(Invitation.__table__), rows[start : start + 5000])


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
            Invitation.status == InvitationStatus.WAITLIST,
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
        .where(
            Invitation.dialogue_id == dialogue_id,
            # every state moves to cancelled; one cancelled already is cancelled again
            Invitation.status.in_(
                (*sources(InvitationStatus.CANCELLED), InvitationStatus.CANCELLED)
            ),
        )
        .values(status=InvitationStatus.CANCELLED, responded_at=now)
        .execution_options(synchronize_session=False)
    )


# ------------------------------------------------------------------------------ printed letters


async def letters_to_print(
    session: AsyncSession, *, dialogue_id: int, changed: bool = False
) -> list[Invitee]:
    """The households invited by letter whose letter is still to be printed: those never
    printed, or (`changed`) those holding one whose time went out of date."""
    wanted = (
        Invitation.letter_outdated_at.is_not(None)
        if changed
        else Invitation.letter_printed_at.is_(None)
    )
    rows = await session.execute(
        select(Invitation, Household)
        .join(Household, Household.id == Invitation.household_id)
        .where(
            Invitation.dialogue_id == dialogue_id,
            Invitation.status == InvitationStatus.LETTER,
            wanted,
        )
        .order_by(Invitation.group, Invitation.rank)
    )
    return [Invitee(invitation, household) for invitation, household in rows]


async def mark_printed(session: AsyncSession, *, invitation_ids: list[int], now: datetime) -> None:
    """These households' letters were written now, with the dialogue's current time."""
    for start in range(0, len(invitation_ids), 5000):
        await session.execute(
            update(Invitation)
            .where(Invitation.id.in_(invitation_ids[start : start + 5000]))
            .values(letter_printed_at=now, letter_outdated_at=None)
            .execution_options(synchronize_session=False)
        )


async def outdate_letters(
    session: AsyncSession, *, dialogue_id: int, now: datetime
) -> list[Invitee]:
    """The dialogue moved or is cancelled: the printed letters of the households that have no
    chat (still "letter") now carry an old time. They are marked so and returned, to be told
    again by hand or with a new letter."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.dialogue_id == dialogue_id,
            Invitation.status == InvitationStatus.LETTER,
            Invitation.letter_printed_at.is_not(None),
        )
        .values(letter_outdated_at=now)
        .execution_options(synchronize_session=False)
    )
    return await outdated_letters(session, dialogue_id=dialogue_id)


async def outdated_letters(session: AsyncSession, *, dialogue_id: int) -> list[Invitee]:
    """The households holding a printed letter whose time is out of date, told by no chat."""
    rows = await session.execute(
        select(Invitation, Household)
        .join(Household, Household.id == Invitation.household_id)
        .where(
            Invitation.dialogue_id == dialogue_id,
            Invitation.letter_outdated_at.is_not(None),
            Invitation.status.in_((InvitationStatus.LETTER, InvitationStatus.CANCELLED)),
        )
        .order_by(Household.hamlet, Household.code)
        .execution_options(populate_existing=True)
    )
    return [Invitee(invitation, household) for invitation, household in rows]


async def adopt_letters(
    session: AsyncSession, *, household_id: int, channel: str, now: datetime
) -> list[Invitation]:
    """The household invited by letter linked a chat: its invitations to dialogues still ahead
    become "invited" on that chat, so that its reminders and notices go there."""
    invitations = list(
        await session.scalars(
            select(Invitation)
            .join(Dialogue, Dialogue.id == Invitation.dialogue_id)
            .where(
                Invitation.household_id == household_id,
                Invitation.status == InvitationStatus.LETTER,
                Dialogue.status == DialogueStatus.PLANNED,
                Dialogue.starts_at > now,
            )
            .order_by(Dialogue.starts_at)
        )
    )
    for invitation in invitations:
        invitation.status = transition(invitation.status, InvitationStatus.INVITED)
        invitation.channel = channel
        # Whatever the paper says, the chat now carries the dialogue's current time.
        invitation.letter_outdated_at = None
    await session.flush()
    return invitations


async def undelivered_invitations(session: AsyncSession, *, dialogue_id: int) -> dict[str, int]:
    """Group -> households still waiting for an answer ("invited") whose invitation reached
    none of their chats: every invitation row of theirs ended refused (Zalo's window,
    unreachable, failed) and none was sent, is on its way or may have arrived."""
    prefix = f"invite:{dialogue_id}:"
    outcome: dict[int, bool] = {}  # household -> reached (or may have)
    for key, status in await session.execute(
        select(OutboxMessage.key, OutboxMessage.status).where(key_range(prefix))
    ):
        household = key[len(prefix) :].split(":", 1)[0]
        if not household.isdigit():
            continue
        reached = status not in UNDELIVERED
        outcome[int(household)] = outcome.get(int(household), False) or reached
    missed = [household for household, reached in outcome.items() if not reached]
    if not missed:
        return {}
    found: dict[str, int] = {}
    for start in range(0, len(missed), 5000):
        rows = await session.execute(
            select(Invitation.group, func.count())
            .where(
                Invitation.dialogue_id == dialogue_id,
                Invitation.status == InvitationStatus.INVITED,
                Invitation.household_id.in_(missed[start : start + 5000]),
            )
            .group_by(Invitation.group)
        )
        for group, n in rows:
            found[group] = found.get(group, 0) + n
    return found


async def standing(session: AsyncSession, *, dialogue_id: int) -> int:
    """Invitations that stand: the households asked to come that have not declined (a decline
    and the household that took its seat are one seat, counted once)."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(EXPECTED))
        )
    ) or 0


@dataclass
class Recipients:
    """Where each household's messages go (the chat it used last) and the language of each
    chat's account."""

    addresses: dict[int, tuple[str, str]]
    locales: dict[tuple[str, str], str]


async def chat_recipients(
    session: AsyncSession, *, dialogue_id: int, statuses: tuple[str, ...]
) -> Recipients:
    """One query for the links of every household in these statuses, one for their languages."""
    found = Recipients(addresses={}, locales={})
    rows = await session.execute(
        select(HouseholdLink.household_id, HouseholdLink.channel, HouseholdLink.user_id)
        .join(Invitation, Invitation.household_id == HouseholdLink.household_id)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(statuses))
        .order_by(HouseholdLink.last_used_at, HouseholdLink.id)
    )
    for household_id, channel, user_id in rows:
        found.addresses[household_id] = (channel, user_id)  # the last used wins
    accounts = await session.execute(
        select(Account.channel, Account.user_id, Account.locale)
        .join(
            HouseholdLink,
            (HouseholdLink.channel == Account.channel) & (HouseholdLink.user_id == Account.user_id),
        )
        .join(Invitation, Invitation.household_id == HouseholdLink.household_id)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status.in_(statuses))
    )
    for channel, user_id, locale in accounts:
        found.locales[(channel, user_id)] = locale
    return found


async def household_link(
    session: AsyncSession, *, household_id: int, channel: str, user_id: str
) -> HouseholdLink | None:
    """The link of this chat to this household, if the chat is linked to it."""
    return await session.scalar(
        select(HouseholdLink).where(
            HouseholdLink.household_id == household_id,
            HouseholdLink.channel == channel,
            HouseholdLink.user_id == user_id,
        )
    )
