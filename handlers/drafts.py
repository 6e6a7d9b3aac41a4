"""What every draft of a conversation does alike: it starts with a nonce, shows a Cancel row of
its own, and refuses a typed text of the wrong length. A button carries the draft's nonce, so
the button of an earlier draft is recognised as stale."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers.context import Context
from handlers.menu import show_menu
from storage.conversations import State


def begin(ctx: Context, name: str, **data: object) -> str:
    """A new draft in the conversation state, with a fresh nonce (returned)."""
    nonce = secrets.token_hex(3)
    ctx.state = State(name=name, data={"nonce": nonce, **data})
    return nonce


def current(ctx: Context, prefix: str, nonce: str) -> bool:
    """Whether a button's nonce is the one of the draft under way in this flow."""
    return ctx.state.name.startswith(prefix) and ctx.state.data.get("nonce") == nonce


def cancel_row(ctx: Context, draft: btn.Format) -> list[Button]:
    """The draft's Cancel button (a "step" and "nonce" format, step "x")."""
    return [Button(ctx.t._("❌ Cancel"), draft.build(step="x", nonce=ctx.state.data["nonce"]))]


def length_ok(ctx: Context, text: str, limits: tuple[int, int], draft: btn.Format) -> bool:
    """Whether the text is within the limits; if not, the person is told so."""
    low, high = limits
    if low <= len(text) <= high:
        return True
    ctx.say(
        ctx.t._("Please write between {low} and {high} characters (you wrote {count}).").format(
            low=low, high=high, count=len(text)
        ),
        buttons=[cancel_row(ctx, draft)],
    )
    return False


async def stale(ctx: Context, prefix: str, show_step: Callable[[Context], Awaitable[None]]) -> None:
    """A button from an earlier message: say so, and show where the person is now (the step
    of this flow's draft, or the menu)."""
    _ = ctx.t._
    ctx.notice = _("This button is out of date.")
    if ctx.state.name.startswith(prefix):
        ctx.say(_("That button is from an earlier message. Here is where you are:"))
        await show_step(ctx)
    else:
        show_menu(ctx, _("That button is from an earlier message. What would you like to do?"))
