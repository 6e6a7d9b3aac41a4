"""/baocao: a facilitator's digest on demand (the daily one comes from the clock through
bot.services.digest)."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.services.digest import build_digest
from handlers.context import Context
from handlers.roles import require


async def on_demand(ctx: Context) -> None:
    """/baocao: the digest of the facilitator's ward now (the daily one still comes)."""
    staff = await require(ctx, "facilitator", "digest")
    if staff is None:
        return
    ctx.replies.append(
        await build_digest(ctx.session, t=ctx.t, ward=staff.ward or "", day=ctx.today, now=ctx.now)
    )


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """ "d:n": the digest now; the only button of this flow."""
    await on_demand(ctx)
