"""Attendance, taken in the chat at the dialogue: the households invited, those who accepted
first; a press marks one present or not."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers.context import Context
from handlers.room.common import allowed_dialogue, back, page_nav, refuse, stale
from storage import followup
from storage import invitations as inv
from storage.models import Dialogue, Invitation, Staff

ATTENDANCE_PAGE = 8


async def show_attendance(ctx: Context, dialogue: Dialogue, page: int) -> None:
    _ = ctx.t._
    invitees = [
        *await inv.with_status(ctx.session, dialogue_id=dialogue.id, statuses=["accepted"]),
        *await inv.with_status(
            ctx.session, dialogue_id=dialogue.id, statuses=["invited", "letter"]
        ),
    ]
    if not invitees:
        ctx.say(
            _("No households were invited to this dialogue."),
            title=_("Attendance"),
            buttons=[back(ctx, dialogue.id)],
        )
        return
    pages = (len(invitees) + ATTENDANCE_PAGE - 1) // ATTENDANCE_PAGE
    page = min(max(page, 0), pages - 1)
    present = sum(1 for i in invitees if i.invitation.attended)
    rows: list[list[Button]] = []
    for invitee in invitees[page * ATTENDANCE_PAGE : (page + 1) * ATTENDANCE_PAGE]:
        household = invitee.household
        mark = "✅" if invitee.invitation.attended else "⬜"
        where = f" · {household.hamlet}" if household.hamlet else ""
        rows.append(
            [
                Button(
                    f"{mark} {household.head_name}{where}"[:60],
                    btn.ROOM_ATTENDANCE.build(invitation=invitee.invitation.id, page=page),
                )
            ]
        )
    nav = page_nav(ctx, "a", dialogue, page, pages)
    if nav:
        rows.append(nav)
    rows.append(back(ctx, dialogue.id))
    lines = [
        dialogue.title,
        _("Press a household to mark it present ✅ or not ⬜ (those who accepted first)."),
        _("Present: {present} of {total}").format(present=present, total=len(invitees)),
    ]
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    ctx.say("\n".join(lines), title=_("Attendance"), buttons=rows)


async def toggle_attendance(ctx: Context, staff: Staff, invitation_id: int, page: int) -> None:
    invitation = await ctx.session.get(Invitation, invitation_id)
    if invitation is None:
        refuse(ctx, staff)
        return
    dialogue = await allowed_dialogue(ctx, staff, invitation.dialogue_id)
    if dialogue is None:
        return
    toggled = await followup.toggle_attendance(
        ctx.session, invitation_id=invitation_id, dialogue_id=dialogue.id
    )
    if toggled is None:
        stale(ctx)
        return
    ctx.notice = ctx.t._("Present") if toggled.attended else ctx.t._("Not present")
    await show_attendance(ctx, dialogue, page)
