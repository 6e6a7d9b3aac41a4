"""Language (/ngonngu): Vietnamese first, English or Khmer on choice; Khmer suggested to a
household the registry says is Khmer (asked, never imposed)."""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.i18n import NATIVE_NAMES, SUPPORTED
from bot.core.messages import Button
from handlers.context import Context
from handlers.menu import show_menu
from handlers.start import show_consent

# Each language named in itself. Khmer has no flag: the Khmer of the Mekong delta are citizens of
# Vietnam, and Cambodia's flag is not theirs.
LANGUAGE_NAMES = {
    "vi": f"🇻🇳 {NATIVE_NAMES['vi']}",
    "en": f"🇬🇧 {NATIVE_NAMES['en']}",
    "km": NATIVE_NAMES["km"],
}


async def offer(ctx: Context) -> None:
    """/ngonngu: the languages as buttons (before consent, the consent statement's own buttons)."""
    if ctx.account is None:
        show_consent(ctx)
        return
    ctx.say(
        ctx.t._("Choose your language:"),
        buttons=[
            [Button(LANGUAGE_NAMES[code], btn.LANGUAGE.build(locale=code))] for code in SUPPORTED
        ],
    )


async def choose(ctx: Context, locale: str) -> None:
    """l:xx: store the choice and answer in the new language."""
    if locale not in SUPPORTED:
        ctx.notice = ctx.t._("This button is out of date.")
        return
    if ctx.account is None:
        ctx.use_locale(locale)
        show_consent(ctx)
        return
    ctx.account.locale = locale
    ctx.use_locale(locale)
    ctx.notice = LANGUAGE_NAMES[locale]
    show_menu(ctx, ctx.t._("From now on I will write in English."))
