"""/start: greeting, language, and the consent statement that comes before anything is stored.

Before consent the flow keeps no state: the chosen language travels in the buttons' data.
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import NATIVE_NAMES
from bot.core.messages import Button
from handlers import consultation, link
from handlers.context import Context
from handlers.menu import show_role_menu
from storage.accounts import create_account
from storage.personal_data import forget_chat
from storage.staff import is_staff_code


def _consent_buttons(ctx: Context, code: str) -> list[list[Button]]:
    _ = ctx.t._
    loc = ctx.t.locale
    # A household's or a staff code given with /start waits in the buttons until consent.
    code = code if btn.START_CODE.decode(code) else ""
    consent = btn.CONSENT.build
    return [
        [Button(_("✅ I agree"), consent(choice="ok", locale=loc, code=code or None))],
        [Button(_("Not now"), consent(choice="no", locale=loc))],
        # The languages, each in its own words, whatever the language of the statement.
        [
            Button(name, consent(choice="lang", locale=lang, code=code or None))
            for lang, name in NATIVE_NAMES.items()
        ],
    ]


def show_consent(ctx: Context, code: str = "") -> None:
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
        buttons=_consent_buttons(ctx, code),
    )


async def start(ctx: Context) -> None:
    """/start [code]: greet; a household code links the chat, a staff code gives its role,
    after consent."""
    _ = ctx.t._
    given = ctx.incoming.text.strip()[:32]
    # Staff codes are lower case, households' upper case: each is read in its own case.
    staff_code = is_staff_code(given.lower())
    code = given.lower() if staff_code else given.upper()
    consult = consultation.code_target(given)
    if consult is not None:
        code = consultation.start_code(consult)  # a consultation's deep link
        if ctx.account is not None:
            await consultation.begin_for(ctx, consult)
            return
    if ctx.account is not None:
        if staff_code:
            await link.by_staff_code(ctx, code)
        elif code:
            await link.by_code(ctx, code)
        else:
            await show_role_menu(
                ctx, _("Welcome back, {name}!").format(name=ctx.account.display_name or "🙂")
            )
        return
    if staff_code and not await link.known_staff_code(ctx, code):
        code = ""  # said so; the consent comes without it
    elif code and not staff_code and consult is None and not await link.known_code(ctx, code):
        code = ""
    show_consent(ctx, code)


async def choose_language(ctx: Context, locale: str, code: str = "") -> None:
    """c:lang:xx[:code] - show the consent statement again in the chosen language."""
    ctx.use_locale(locale)
    show_consent(ctx, code)


async def accept(ctx: Context, locale: str, code: str = "") -> None:
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
    if is_staff_code(code):
        if await link.by_staff_code(ctx, code):
            return  # the role's message carries its menu
    elif consultation.code_target(code) is not None:
        await consultation.begin_for(ctx, consultation.code_target(code) or 0)
        return
    elif code and await link.by_code(ctx, code):
        return  # a Khmer household is asked its language first; either answer brings the menu
    await show_role_menu(
        ctx,
        _('Thank you. You can now send a question. Press "Send a question" below, or type /hoi.'),
    )


async def decline(ctx: Context, locale: str, code: str = "") -> None:
    """c:no:xx - nothing is stored; the way back is /start. What the chat was sent so far
    keeps no address from now, and this answer none once the clock has swept."""
    ctx.use_locale(locale)
    if ctx.account is None:
        await forget_chat(
            ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id, now=ctx.now
        )
    ctx.say(
        ctx.t._(
            "All right: nothing has been stored. When you are ready, type /start. "
            "You can read /trogiup at any time."
        )
    )
