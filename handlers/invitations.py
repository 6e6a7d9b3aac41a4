"""A household's answer to its invitation: the "Tham dự" / "Không tham dự" buttons of the
messages bot.services.invitations writes. A decline gives the seat to the next household of the
same group.
"""

from __future__ import annotations

from bot.core.lifecycles import DialogueStatus, InvitationStatus, allowed, transition
from bot.services.invitations import Invitations
from handlers.context import Context
from storage import invitations as inv
from storage.models import Dialogue, Invitation


async def on_answer(ctx: Context, invitation_id: int, answer: str) -> None:
    """r:<invitation>:y|n - a household answers its invitation."""
    _ = ctx.t._
    invitation = await ctx.session.get(Invitation, invitation_id)
    link = None
    if invitation is not None:
        link = await inv.household_link(
            ctx.session,
            household_id=invitation.household_id,
            channel=ctx.address.channel,
            user_id=ctx.address.user_id,
        )
    if invitation is None or link is None or answer not in ("y", "n"):
        ctx.notice = _("This button is out of date.")
        ctx.say(_("That invitation is not for this chat."))
        return
    dialogue = await ctx.session.get(Dialogue, invitation.dialogue_id)
    assert dialogue is not None and dialogue.starts_at is not None
    if dialogue.status != DialogueStatus.PLANNED or ctx.now >= dialogue.starts_at:
        ctx.say(_("This dialogue is no longer taking answers."))
        return
    # Invited or answered already (a household may change its mind): not waiting, cancelled.
    new = InvitationStatus.ACCEPTED if answer == "y" else InvitationStatus.DECLINED
    if not allowed(invitation.status, new):
        ctx.say(_("That invitation is not for this chat."))
        return
    link.last_used_at = ctx.now
    was = invitation.status
    invitation.status = transition(invitation.status, new)
    invitation.responded_at = ctx.now
    if answer == "y":
        ctx.notice = _("Thank you!")
        ctx.say(
            _("Thank you: we expect you at {when}, {venue}. We will remind you beforehand.").format(
                when=ctx.t.datetime(dialogue.starts_at), venue=dialogue.venue
            )
        )
        # A household that declined and changes its mind comes in addition to the one that
        # took its seat: nobody is uninvited.
        return
    ctx.notice = _("Noted")
    ctx.say(
        _(
            "Noted: you will not attend. You can still send your questions with /hoi; "
            "the answers will come here."
        )
    )
    if was != InvitationStatus.DECLINED:
        await _promote(ctx, dialogue, invitation.group)


async def _promote(ctx: Context, dialogue: Dialogue, group: str) -> None:
    """Give the seat of a decline to the next household of the same group, and invite it."""
    following = await inv.next_on_waitlist(ctx.session, dialogue_id=dialogue.id, group=group)
    if following is None:
        return
    following.status = transition(following.status, InvitationStatus.SELECTED)
    await ctx.session.flush()
    await Invitations(ctx.notifier).invite(ctx.session, dialogue=dialogue, now=ctx.now)
