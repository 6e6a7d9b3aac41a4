"""Names given on the command line checked against what exists: a ward of the registry, an
agency, a topic. A typo ("Phuong 7", "Phường 99") is refused with the closest known names
rather than stored and silently matching nothing."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from bot.core.i18n import Translator


def fold(text: str) -> str:
    """No case, no diacritics, single spaces: "Phường  7" and "phuong 7" compare equal."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def closest(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names nearest to `value`, best first (compared without case and diacritics)."""
    by_fold: dict[str, str] = {}
    for name in known:
        by_fold.setdefault(fold(name), name)
    matches = difflib.get_close_matches(fold(value), list(by_fold), n=n, cutoff=0.5)
    return [by_fold[m] for m in matches]


def unknown_line(t: Translator, value: str, known: list[str], what: str) -> str:
    """ "Unknown ward "Phuong 7". Did you mean: Phường 7?" — or the list when nothing is close."""
    near = closest(value, known)
    if near:
        return t._("Unknown {what} “{value}”. Did you mean: {names}?").format(
            what=what, value=value, names=", ".join(near)
        )
    shown = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
    return t._("Unknown {what} “{value}”. Known: {names}.").format(
        what=what, value=value, names=shown or "–"
    )


def check_names(
    values: list[str], known: list[str], t: Translator, *, what: str, option: str
) -> list[str]:
    """`values`, each exactly a known name; else one line (the closest names) and exit 2."""
    exact = set(known)
    for value in values:
        if value not in exact:
            refuse(f"{option}: {unknown_line(t, value, known, what)}")
    return values


def refuse(message: str, code: int = 2) -> None:
    from bot.cli.common import _fail

    _fail(message, code)


def refuse_past(t: Translator, when: datetime, now: datetime, option: str) -> None:
    """A time already gone is a typo (last year's date) unless the organiser says so."""
    if when <= now:
        refuse(
            f"{option}: "
            + t._("{when} is in the past. Give a time to come, or add --allow-past.").format(
                when=t.datetime(when)
            )
        )
