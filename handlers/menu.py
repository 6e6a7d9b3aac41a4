"""The main menu and help: what a person can do, as buttons first and commands second."""

from __future__ import annotations

from bot.messages import Button
from handlers.context import Context


def menu_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx.t._
    return [
        [Button(_("✍️ Send a question"), "m:ask")],
        [Button(_("📋 My questions"), "m:mine")],
        [Button(_("🏠 My household"), "m:link")],
        [Button(_("🌐 Language"), "m:lang"), Button(_("❓ Help"), "m:help")],
    ]


def show_menu(ctx: Context, text: str = "") -> None:
    ctx.say(text or ctx.t._("What would you like to do?"), buttons=menu_buttons(ctx))


async def show_help(ctx: Context) -> None:
    """/trogiup: what the bot is for and every command."""
    _ = ctx.t._
    ctx.say(
        _(
            "This bot takes your questions to the policy dialogue between the ward and its "
            "people, and brings the answers back to you.\n\n"
            "/hoi – send a question (anonymous if you wish)\n"
            "/cauhoi – your questions and their status\n"
            "/ngonngu – language\n"
            "/xoa – delete your data\n"
            "/huy – cancel what you are doing\n"
            "/trogiup – this help\n\n"
            "You can also just press the buttons."
        ),
        title=_("Help"),
        buttons=menu_buttons(ctx) if ctx.account else None,
    )
