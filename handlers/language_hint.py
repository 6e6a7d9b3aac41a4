"""Khmer suggested to a household the registry says is Khmer: asked, never imposed.

About a third of Trà Vinh is Khmer, and many older people there read Vietnamese poorly. When a
chat is linked to a household whose registry row says Khmer ("Khmer", "Khơ-me", "Dân tộc
Khmer"...), the bot asks once, in the person's language and in Khmer, whether to write in Khmer;
nothing changes until they press the button, and /ngonngu changes it back at any time.
"""

from __future__ import annotations

import re

from bot.core import buttons as btn
from bot.core.i18n import N_, NATIVE_NAMES, Translator
from bot.core.messages import Button
from handlers.context import Context
from storage.households import fold

_LETTERS = re.compile(r"[^a-z]")
QUESTION = N_(
    "The ward's registry says your household is Khmer. Would you like me to write to you in "
    "Khmer? You can change the language at any time with /ngonngu."
)


def is_khmer(ethnicity: str) -> bool:
    """Whether the registry's ethnicity names the Khmer, however the ward wrote it."""
    name = _LETTERS.sub("", fold(ethnicity)).removeprefix("dantoc").removeprefix("nguoi")
    return name.startswith(("khmer", "khome", "khomer"))


def suggest(ctx: Context, ethnicity: str) -> bool:
    """After a link: offer Khmer to a Khmer household whose chat is in another language.
    True if asked: the question's buttons are then the message's, and either answer brings
    the menu."""
    if ctx.t.locale == "km" or not is_khmer(ethnicity):
        return False
    khmer = Translator("km", ctx.zone)
    ctx.say(
        # In the person's language first, then in Khmer: whoever reads either understands.
        f"{ctx.t._(QUESTION)}\n\n{khmer._(QUESTION)}",
        buttons=[
            [Button(NATIVE_NAMES["km"], btn.LANGUAGE.build(locale="km"))],
            [Button(NATIVE_NAMES[ctx.t.locale], btn.LANGUAGE.build(locale=ctx.t.locale))],
        ],
    )
    return True
