"""The main menu and help: what a person can do, as buttons first and commands second.

Staff see their own entries above the citizen's: a facilitator moderation, the dialogue and
the report; an official the inbox. Which role a chat holds is looked up in the database, so
the staff menu is async (`role_menu_buttons`, `show_role_menu`); the sync `menu_buttons` and
`show_menu` give the citizen's menu for callers that have no role to show.
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers.context import Context
from handlers.roles import staff_of
from storage.models import Staff
from storage.staff import find_agency


def menu_buttons(ctx: Context) -> list[list[Button]]:
    """The citizen's menu."""
    _ = ctx.t._
    return [
        [Button(_("✍️ Send a question"), btn.MENU.build(item="ask"))],
        [Button(_("📋 My questions"), btn.MENU.build(item="mine"))],
        [Button(_("🙋 Questions from other people"), btn.BROWSE.build())],
        [Button(_("🏠 My household"), btn.MENU.build(item="link"))],
        [
            Button(_("🌐 Language"), btn.MENU.build(item="lang")),
            Button(_("❓ Help"), btn.MENU.build(item="help")),
        ],
    ]


def staff_buttons(ctx: Context, staff: Staff | None) -> list[list[Button]]:
    """The entries of a staff role, first in its menu."""
    _ = ctx.t._
    if staff is None:
        return []
    if staff.role == "facilitator":
        return [
            [Button(_("📋 Moderate questions"), btn.MODERATE.build())],
            [
                Button(_("🏛 The dialogue"), btn.ROOM.build()),
                Button(_("📊 Report"), btn.DIGEST.build()),
            ],
        ]
    if staff.role == "official":
        return [[Button(_("📥 Inbox"), btn.INBOX.build())]]
    return []


async def role_menu_buttons(ctx: Context) -> list[list[Button]]:
    """The menu of this chat: its staff entries, if it holds a role, then the citizen's."""
    return staff_buttons(ctx, await staff_of(ctx)) + menu_buttons(ctx)


def show_menu(ctx: Context, text: str = "") -> None:
    """The citizen's menu (sync, for callers without a role to show)."""
    ctx.say(text or ctx.t._("What would you like to do?"), buttons=menu_buttons(ctx))


async def show_role_menu(ctx: Context, text: str = "") -> None:
    """The menu of this chat, with its staff entries."""
    ctx.say(text or ctx.t._("What would you like to do?"), buttons=await role_menu_buttons(ctx))


async def staff_place(ctx: Context, staff: Staff) -> str:
    """A facilitator's ward, or an official's agency as its name reads."""
    if staff.role == "facilitator":
        return staff.ward or "–"
    agency = await find_agency(ctx.session, code=staff.agency or "")
    return ctx.t._(agency.name) if agency else staff.agency or "–"


def staff_command_lines(ctx: Context, staff: Staff) -> str:
    """The commands a staff role brings, one a line."""
    _ = ctx.t._
    if staff.role == "facilitator":
        return _(
            "/duyet – moderate the questions waiting\n"
            "/buoidoithoai – at and after the dialogue\n"
            "/baocao – the report of the day"
        )
    return _("/hopthu – the questions for your agency: answer, commit, forward")


async def staff_commands(ctx: Context, staff: Staff) -> str:
    """What a staff role is, and the commands it brings (for the help)."""
    _ = ctx.t._
    place = await staff_place(ctx, staff)
    heading = (
        _("Facilitator of {ward}:").format(ward=place)
        if staff.role == "facilitator"
        else _("Official of {agency}:").format(agency=place)
    )
    return heading + "\n" + staff_command_lines(ctx, staff)


async def show_help(ctx: Context) -> None:
    """/trogiup: what the bot is for and every command (a staff role's commands first)."""
    _ = ctx.t._
    staff = await staff_of(ctx) if ctx.account else None
    text = _(
        "This bot takes your questions to the policy dialogue between the ward and its "
        "people, and brings the answers back to you.\n\n"
        "/hoi – send a question (anonymous if you wish)\n"
        "/cauhoi – your questions and their status\n"
        "/xemcauhoi – other people's questions: support those you share\n"
        "/ngonngu – language\n"
        "/xoa – delete your data\n"
        "/huy – cancel what you are doing\n"
        "/trogiup – this help\n\n"
        "You can also just press the buttons."
    )
    text += "\n" + _("/gopy – give your opinion when a policy is being consulted")
    if staff is not None:
        head = await staff_commands(ctx, staff)
        if staff.role == "facilitator":
            head += "\n" + _("/chude – group a consultation's opinions into themes")
        text = head + "\n\n" + text
    ctx.say(
        text,
        title=_("Help"),
        buttons=staff_buttons(ctx, staff) + menu_buttons(ctx) if ctx.account else None,
    )
