"""Households of the registry: the rules on their data, the bulk import, and finding one.

A household is known by the registry's code (`code`); its deep link and QR code use a separate
random `link_code`, given once when the household first arrives and kept by every later import.
An import of a whole city's list (100,000 rows) reads the table once and writes in bulk.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import driver_rows, refresh_statistics
from storage.models import Household
from storage.selection import Candidate

CATEGORIES = ("poor", "near_poor", "new_non_poor", "other")
# Poor, near-poor and newly-out-of-poverty households fill most of a dialogue's seats.
PRIORITY_CATEGORIES = frozenset({"poor", "near_poor", "new_non_poor"})
GENDERS = ("female", "male", "")

# As for tickets: no 0/O, 1/I, 2/Z, 5/S, 8/B, since a link code is read aloud and copied by hand.
LINK_CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
LINK_CODE_LENGTH = 8

_FIELDS = ("code", "head_name", "gender", "ethnicity", "category", "ward", "hamlet", "phone")
# The longest text each column holds (notes: no limit), read from the model.
LIMITS: dict[str, int] = {
    name: length
    for name in _FIELDS
    if isinstance(column_type := Household.__table__.c[name].type, String)
    and (length := column_type.length) is not None
}

_COLUMNS = (*_FIELDS, "notes")  # what an import writes
_CHUNK = 5000  # rows per bulk statement


@dataclass(frozen=True, kw_only=True)
class HouseholdRow:
    """One household as a registry list gives it, checked and normalised."""

    code: str
    head_name: str
    gender: str = ""  # female, male or "" (unknown)
    ethnicity: str = ""
    category: str  # one of CATEGORIES
    ward: str
    hamlet: str = ""
    phone: str | None = None  # normalised (normalise_phone) or None
    notes: str = ""


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int
    unchanged: int


def fold(text: str) -> str:
    """Text compared as people mean it: no case, no diacritics ("Đức" -> "duc")."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Mobile numbers lost their fourth digit in 2018 (0162 -> 032, ...); old lists still hold them.
_OLD_MOBILE_PREFIXES = {
    **{f"016{d}": f"03{d}" for d in "23456789"},
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    "0186": "056",
    "0188": "058",
    "0199": "059",
}
_MOBILE = re.compile(r"0[35789]\d{8}")  # 10 digits: mobile networks
_LANDLINE = re.compile(r"02\d{9}")  # 11 digits: 02 + area code + subscriber (since 2017)
_SEPARATORS = re.compile(r"[\s.\-()/]")


def normalise_phone(raw: str) -> str | None:
    """A Vietnamese phone number as 0xxxxxxxxx (mobile) or 02xxxxxxxxx (landline); "" -> None.

    Spaces, dots, dashes and parentheses go; +84, 0084 and 84 become 0; a number a spreadsheet
    read as a number gets its leading zero back; an old 11-digit mobile number (0168...) becomes
    its new 10-digit one. Anything else raises ValueError.
    """
    digits = _SEPARATORS.sub("", raw)
    if not digits:
        return None
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif digits[0] in "1235789" and len(digits) in (9, 10):
        digits = "0" + digits  # a spreadsheet dropped the leading zero
    if digits.startswith("00"):  # "+84 (0) 91..."
        digits = digits[1:]
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not a phone number: {raw!r}")
    if len(digits) == 11 and digits[:4] in _OLD_MOBILE_PREFIXES:
        digits = _OLD_MOBILE_PREFIXES[digits[:4]] + digits[4:]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    raise ValueError(f"not a Vietnamese phone number: {raw!r}")


def is_minority(ethnicity: str) -> bool:
    """Whether a household belongs to an ethnic minority: any ethnicity but Kinh; unknown is not."""
    name = " ".join(fold(ethnicity).split()).removeprefix("dan toc ")
    return bool(name) and name != "kinh"


def _new_link_code(taken: set[str]) -> str:
    """A random link code not in `taken` (and now in it); one draw from the secrets module."""
    base = len(LINK_CODE_ALPHABET)
    while True:
        number = secrets.randbelow(base**LINK_CODE_LENGTH)
        letters = []
        for _ in range(LINK_CODE_LENGTH):
            number, digit = divmod(number, base)
            letters.append(LINK_CODE_ALPHABET[digit])
        code = "".join(letters)
        if code not in taken:
            taken.add(code)
            return code


def _wanted(rows: Sequence[HouseholdRow]) -> dict[str, dict[str, object]]:
    """The rows' columns by household code; ValueError if a code appears twice."""
    wanted: dict[str, dict[str, object]] = {}
    for row in rows:
        if row.code in wanted:
            raise ValueError(f"household code {row.code!r} given twice")
        wanted[row.code] = {f: getattr(row, f) for f in _COLUMNS}
    return wanted


async def _existing(
    session: AsyncSession,
) -> tuple[dict[str, tuple[int, dict[str, object]]], set[str]]:
    """The stored households (code -> id and columns), and every link code taken: one query."""
    table = Household.__table__
    existing: dict[str, tuple[int, dict[str, object]]] = {}
    link_codes: set[str] = set()
    result = await session.execute(
        select(table.c.id, table.c.link_code, table.c.notes, *(table.c[f] for f in _FIELDS))
    )
    for found in result.mappings():
        link_codes.add(found["link_code"])
        values = {f: found[f] for f in _COLUMNS}
        existing[found["code"]] = (found["id"], values)
    return existing, link_codes


def _changes(
    wanted: dict[str, dict[str, object]],
    existing: dict[str, tuple[int, dict[str, object]]],
    link_codes: set[str],
) -> tuple[list[dict[str, object]], list[dict[str, object]], int]:
    """(rows to insert, each with a fresh link code; rows to update, by id; how many are
    unchanged)."""
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    unchanged = 0
    for code, values in wanted.items():
        if code not in existing:
            inserts.append({**values, "link_code": _new_link_code(link_codes)})
            continue
        household_id, stored = existing[code]
        if stored == values:
            unchanged += 1
        else:
            values.pop("code")
            updates.append({**values, "_id": household_id})
    return inserts, updates, unchanged


async def _write_in_chunks(
    session: AsyncSession,
    statement: Any,
    rows: list[dict[str, object]],
    done: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Execute `statement` for `rows`, _CHUNK at a time, telling `progress` after each chunk;
    how many rows are done after them."""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        await session.execute(statement, chunk)
        done += len(chunk)
        if progress:
            progress(done)
    return done


async def upsert_households(
    session: AsyncSession,
    *,
    rows: Sequence[HouseholdRow],
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Add the new households and update the known ones (by code), in bulk.

    New households get a fresh random link code; known ones keep theirs. One query reads what
    is there, then inserts and updates go in chunks. `progress` is told how many rows are done.
    Raises ValueError if a code appears twice in `rows`.
    """
    wanted = _wanted(rows)
    existing, link_codes = await _existing(session)
    inserts, updates, unchanged = _changes(wanted, existing, link_codes)

    table = Household.__table__
    done = unchanged
    if progress:
        progress(done)
    done = await _write_in_chunks(session, insert(table), inserts, done, progress)
    if updates:
        # The SET clause comes from the parameters' keys (every column but the code).
        statement = update(table).where(table.c.id == bindparam("_id"))
        await _write_in_chunks(session, statement, updates, done, progress)
    if inserts or updates:
        await refresh_statistics(session, "households")
    return UpsertResult(created=len(inserts), updated=len(updates), unchanged=unchanged)


async def household_stats(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(ward, category, number of households), by ward then category."""
    rows = await session.execute(
        select(Household.ward, Household.category, func.count())
        .group_by(Household.ward, Household.category)
        .order_by(Household.ward, Household.category)
    )
    return [(ward, category, count) for ward, category, count in rows]


async def find_by_link_code(session: AsyncSession, *, link_code: str) -> Household | None:
    """The household of a deep link or QR code, however the code was typed (case, spaces)."""
    code = "".join(link_code.split()).upper()
    if not code:
        return None
    return await session.scalar(select(Household).where(Household.link_code == code))


async def find_by_phone(session: AsyncSession, *, phone: str) -> list[Household]:
    """The households registered with this phone number (several may share one)."""
    try:
        number = normalise_phone(phone)
    except ValueError:
        return []
    if number is None:
        return []
    found = await session.scalars(
        select(Household).where(Household.phone == number).order_by(Household.id)
    )
    return list(found)


async def registry_wards(session: AsyncSession) -> list[str]:
    """The wards and communes the registry has households in, and those of planned dialogues
    (the names a command line may give)."""
    from storage.models import Dialogue

    names = set(await session.scalars(select(Household.ward).distinct()))
    for wards in await session.scalars(select(Dialogue.wards).where(Dialogue.kind == "session")):
        names.update(wards or [])
    return sorted(names)


# The most spellings of minorities sent to the database as a list (PostgreSQL takes at most
# 32,767 parameters a statement; a registry written by hand has a few dozen).
MINORITIES_LISTED = 1000


async def candidates(session: AsyncSession, *, wards: Sequence[str]) -> list[Candidate]:
    """The households of these wards (every ward when empty) as candidates for a dialogue's
    selection: the few columns the draw needs, its two flags computed by the database."""
    in_wards = Household.ward.in_(list(wards)) if wards else true()
    # A registry writes a few ethnicities (in many spellings): each is judged once here, and
    # the database flags the minorities, so that no string but the ward comes back per row.
    ethnicities = await session.scalars(select(Household.ethnicity).where(in_wards).distinct())
    minorities = [e for e in ethnicities if is_minority(e)]
    columns = [Household.id, Household.ward, Household.category, Household.gender == "female"]
    if len(minorities) <= MINORITIES_LISTED:
        query = select(*columns, Household.ethnicity.in_(minorities)).where(in_wards)
        return list(map(Candidate._make, await driver_rows(session, query)))
    # Thousands of spellings (a registry made to be hostile): each row's is looked up here.
    minority = set(minorities)
    query = select(*columns, Household.ethnicity).where(in_wards)
    return [
        Candidate(h, w, c, f, e in minority) for h, w, c, f, e in await driver_rows(session, query)
    ]
