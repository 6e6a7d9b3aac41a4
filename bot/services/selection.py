"""`select`: choose the households to invite to a dialogue by its quotas, with a ranked
waitlist, and store the choice (storage.selection draws, storage.invitations keeps)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage import invitations as inv
from storage.households import candidates
from storage.models import Dialogue
from storage.selection import Selection, select_invitees


class NoCandidates(Exception):
    """No household of the registry is in the dialogue's wards: nothing was selected."""


def waitlist_depth(total: int) -> int:
    """How many households to keep waiting in each group: twice the session, at least 50."""
    return max(2 * total, 50)


def waiting_kept(selection: Selection, total: int) -> int:
    """How many of the waitlist are kept (at most `waitlist_depth` a group)."""
    return sum(
        min(waitlist_depth(total), sum(1 for p in selection.waitlist if p.group == group))
        for group in ("priority", "other")
    )


async def select_households(
    session: AsyncSession, *, dialogue: Dialogue, seed: int | None = None
) -> Selection:
    """Draw the dialogue's households (seed: the dialogue's id unless given) and store them.

    Raises NoCandidates when the registry has none in its wards, inv.AlreadyInvited when its
    invitations have gone out (the selection stays)."""
    found = await candidates(session, wards=dialogue.wards)
    if not found:
        raise NoCandidates
    selection = select_invitees(
        found,
        wards=dialogue.wards or sorted({c.ward for c in found}),
        total=dialogue.quota_total,
        minimum_priority=dialogue.quota_priority,
        seed=dialogue.id if seed is None else seed,
        waitlist_depth=waitlist_depth(dialogue.quota_total),
    )
    await inv.save_selection(
        session,
        dialogue_id=dialogue.id,
        chosen=[(p.household_id, p.group, p.rank) for p in selection.invited],
        waiting=[(p.household_id, p.group, p.rank) for p in selection.waitlist],
        waitlist_depth=waitlist_depth(dialogue.quota_total),
    )
    return selection
