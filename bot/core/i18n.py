"""Babel: catalogs, the user's locale, and dates, times and numbers as people write them.

The catalogs are the .po files under locales/. Each is compiled once and the result kept beside
it as `messages.<hash of the .po>.mo`: a process then loads the .mo (milliseconds) instead of
parsing the .po (about half a second for the three locales, which every CLI command paid). The
name carries the .po's hash, so a checkout never runs with a stale .mo; where the folder is not
writable the catalog is compiled in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from datetime import date, datetime, time
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

import locales as _locales_package

LOCALES_DIR = Path(_locales_package.__file__).parent
SUPPORTED = ("vi", "en", "km")
# Each language named in itself, so that a person who reads only that one finds it.
NATIVE_NAMES = {"vi": "Tiếng Việt", "en": "English", "km": "ភាសាខ្មែរ"}
DOMAIN = "messages"

# Dates as Vietnamese people write them ("Thứ Tư, 26/04/2023"); English in its own order;
# Khmer with Babel's (CLDR's) names of the days, "ថ្ងៃ" (day) before the name as Khmer writes it,
# and the day-first numbers that Khmer people in Vietnam read on every paper ("ថ្ងៃពុធ 26/04/2023").
_DATE_PATTERNS = {"vi": "EEEE, dd/MM/yyyy", "en": "EEEE d MMMM yyyy", "km": "'ថ្ងៃ'EEEE dd/MM/yyyy"}
_SHORT_DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy", "km": "dd/MM/yyyy"}
_TIME_PATTERNS = {"vi": "HH:mm", "en": "HH:mm", "km": "HH:mm"}


def N_(message: str) -> str:
    """Mark a text for extraction where it is defined; translate it where it is shown."""
    return message


@cache
def translations(locale: str) -> Translations:
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    source = (folder / f"{DOMAIN}.po").read_bytes()
    compiled = folder / f"{DOMAIN}.{hashlib.sha1(source).hexdigest()[:16]}.mo"
    with contextlib.suppress(OSError):
        return Translations(io.BytesIO(compiled.read_bytes()), domain=DOMAIN)
    catalog = read_po(io.BytesIO(source), locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    _keep(compiled, buffer.getvalue())
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _keep(compiled: Path, data: bytes) -> None:
    """Save a compiled catalog for the next process (atomically: another process may be
    reading it), and remove those of older .po files; a read-only folder keeps nothing."""
    partial = compiled.with_name(f"{compiled.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, compiled)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        return
    for old in compiled.parent.glob(f"{DOMAIN}.*.mo"):
        if old != compiled:
            with contextlib.suppress(OSError):
                old.unlink()


@cache
def _locale(code: str) -> Locale:
    """The parsed locale: Babel would otherwise parse "vi" again for every date it formats."""
    return Locale.parse(code)


# A page shows the same few days many times (deadlines, answers of one morning): each is
# formatted once per pattern and locale.
@lru_cache(maxsize=4096)
def _format_date(value: date, pattern: str, locale: str) -> str:
    return format_date(value, pattern, locale=_locale(locale))


@lru_cache(maxsize=4096)
def _format_time(value: time, pattern: str, locale: str) -> str:
    return format_time(value, pattern, locale=_locale(locale))


def choose(locale: str | None, default: str) -> str:
    """The supported locale for a stored or reported one ("vi-VN" -> "vi"), else the default."""
    if locale:
        base = locale.replace("-", "_").split("_")[0].lower()
        if base in SUPPORTED:
            return base
    return default


class Translator:
    """Texts and formats for one locale in one time zone; handlers get one as ctx.t."""

    def __init__(self, locale: str, zone: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")):
        self.locale = locale
        self.zone = zone
        self._translations = translations(locale)

    def _(self, message: str) -> str:
        return self._translations.ugettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ungettext(singular, plural, n)

    def date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = self.local(value).date()
        return _format_date(value, _DATE_PATTERNS[self.locale], self.locale)

    def short_date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = self.local(value).date()
        return _format_date(value, _SHORT_DATE_PATTERNS[self.locale], self.locale)

    def datetime(self, value: datetime) -> str:
        local = self.local(value)
        return self._("{time}, {date}").format(
            time=_format_time(local.time(), _TIME_PATTERNS[self.locale], self.locale),
            date=self.date(local.date()),
        )

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=_locale(self.locale))

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    @property
    def language_name(self) -> str:
        return _locale(self.locale).get_display_name(self.locale).capitalize()


_TYPED_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def parse_date(text: str) -> date | None:
    """A date as people type it, day first: "15/01/2027", "5-1-2027", "05.01.2027"."""
    found = _TYPED_DATE.match(text)
    if found is None:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
