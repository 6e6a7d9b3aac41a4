"""Server-side role checks for every staff command and button.

A button's data or a command can be replayed by anyone; the role is looked up on every
update from the chat it comes from, never trusted from the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core import buttons as btn
from handlers.context import Context
from storage.models import Staff
from storage.staff import find_active

log = logging.getLogger(__name__)


async def staff_of(ctx: Context) -> Staff | None:
    return await find_active(ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id)


async def require(ctx: Context, role: str, action: str) -> Staff | None:
    """The chat's staff record if it holds `role`; otherwise a refusal, said and logged.

    The log names the action and the account number, never an address or a text.
    """
    staff = await staff_of(ctx)
    if staff is not None and staff.role == role:
        return staff
    log.warning(
        "refused %s: needs role %s, account %s holds %s",
        action,
        role,
        ctx.account.id if ctx.account else "-",
        staff.role if staff else "no role",
    )
    _ = ctx.t._
    ctx.notice = _("This is for staff only.")
    if staff is None:
        ctx.say(_("This is for officials and facilitators only."))
    elif role == "official":
        # A facilitator replaying an official's button: tell them what it is, and what is theirs.
        ctx.say(
            _(
                "This is for the officials who answer for an agency; you are the facilitator of "
                "your ward. Type /trogiup to see what you can do."
            )
        )
    else:
        ctx.say(
            _(
                "This is for the ward's facilitator; you are an official of your agency. Type "
                "/trogiup to see what you can do."
            )
        )
    return None


async def require_pressing(
    ctx: Context, pressed: btn.Pressed, role: str, flow: str, steps: Mapping[btn.Format, str]
) -> tuple[Staff, str] | None:
    """The staff member pressing a button of a staff flow, and the button's step (its "step"
    field, or the step of its format in `steps`); None, refused and logged, without `role`."""
    action = pressed.get("step") or steps.get(pressed.format, "")
    staff = await require(ctx, role, f"{flow} button {action[:8]}")
    return None if staff is None else (staff, action)
