"""/start: greeting, language, and the consent statement that comes before anything is stored.

Before consent the flow keeps no state: the chosen language travels in the buttons' data.
"""

from __future__ import annotations

from bot.messages import Button
from handlers.context import Context
from handlers.menu import show_menu
from storage.accounts import create_account


def _consent_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx.t._
    loc = ctx.t.locale
    return [
        [Button(_("✅ I agree"), f"c:ok:{loc}")],
        [Button(_("Not now"), f"c:no:{loc}")],
        [Button("Tiếng Việt", "c:lang:vi"), Button("English", "c:lang:en")],
    ]


def show_consent(ctx: Context) -> None:
    _ = ctx.t._
    ctx.say(
        _(
            "Hello! Here you can send questions to the policy dialogue of your ward or commune, "
            "anonymously if you wish, and receive the answers.\n\n"
            "Before we start: to do this we store your display name, the chat address to send "
            "answers to, the language you choose and the questions you send. They are used only "
            "to take your questions to the responsible agency and bring the answers back. An "
            "anonymous question is not linked to your name or your account. You can delete your "
            "data at any time with /xoa."
        ),
        title=_("Welcome"),
        buttons=_consent_buttons(ctx),
    )


async def start(ctx: Context) -> None:
    """/start [code]: greet; a code (household or staff link) is checked, consent comes first."""
    _ = ctx.t._
    code = ctx.incoming.text.strip()
    if code:
        # Household and staff codes are issued by later parts of the service; none is valid yet.
        ctx.say(
            _(
                "The code {code} is not valid or has expired. Please check the link or the "
                "invitation letter, or ask the ward office."
            ).format(code=code[:64])
        )
    if ctx.account is None:
        show_consent(ctx)
    else:
        show_menu(ctx, _("Welcome back, {name}!").format(name=ctx.account.display_name or "🙂"))


async def choose_language(ctx: Context, locale: str) -> None:
    """c:lang:xx - show the consent statement again in the chosen language."""
    ctx.use_locale(locale)
    show_consent(ctx)


async def accept(ctx: Context, locale: str) -> None:
    """c:ok:xx - the person agrees: only now is an account stored."""
    ctx.use_locale(locale)
    _ = ctx.t._
    if ctx.account is not None:
        ctx.account.locale = locale
    else:
        ctx.account = await create_account(
            ctx.session,
            channel=ctx.address.channel,
            user_id=ctx.address.user_id,
            display_name=ctx.incoming.display_name,
            locale=locale,
            consented_on=ctx.today,
        )
    ctx.notice = _("Thank you!")
    show_menu(
        ctx,
        _('Thank you. You can now send a question. Press "Send a question" below, or type /hoi.'),
    )


async def decline(ctx: Context, locale: str) -> None:
    """c:no:xx - nothing is stored; the way back is /start."""
    ctx.use_locale(locale)
    ctx.say(
        ctx.t._(
            "All right: nothing has been stored. When you are ready, type /start. "
            "You can read /trogiup at any time."
        )
    )
