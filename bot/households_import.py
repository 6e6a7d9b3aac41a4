"""Reading a ward's household list (CSV or XLSX) and checking it, row by row, before any import.

Channel-neutral and without a database: it gives the rows that can be imported and, for the
others, reasons a person can act on, each with the line number their spreadsheet shows (the
header is line 1). Headers are recognised in Vietnamese or English, whatever their case,
spacing or diacritics; a title above the header row (common in ward lists) is skipped.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.core.i18n import N_, Translator
from storage.households import LIMITS, HouseholdRow, fold, normalise_phone

SUFFIXES = (".csv", ".xlsx")
REQUIRED = ("code", "head_name", "category", "ward")
_FREE_TEXT = ("code", "head_name", "ethnicity", "ward", "hamlet")  # stored as written
_HEADER_SEARCH = 10  # rows looked at for the header, below any title rows
_PROGRESS_EVERY = 1000
# Bounds, so that no file (a mistake or an attack) can take the machine's memory or hours:
MAX_REPORTED = 100  # errors listed; the rest are counted ("… and N more")
MAX_ROWS = 500_000  # rows of one import (DOITHOAI_IMPORT_MAX_ROWS), about ten wards' lists
CSV_FIELD_LIMIT = 1 << 20  # characters in one CSV cell (Python's csv stops at 131,072)
XLSX_MAX_UNCOMPRESSED = 256 << 20  # bytes of the workbook's parts, as its zip declares them
# Control characters a cell may hold (NUL breaks PostgreSQL's text); tabs and line breaks
# become spaces anyway.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F])

# The column labels people see in messages (and the usual Vietnamese header names).
LABELS = {
    "code": N_("Household code"),
    "head_name": N_("Head of household"),
    "gender": N_("Gender"),
    "ethnicity": N_("Ethnicity"),
    "category": N_("Category"),
    "ward": N_("Ward"),
    "hamlet": N_("Hamlet"),
    "phone": N_("Phone"),
    "notes": N_("Notes"),
}


def _key(text: str) -> str:
    """A header or value folded for matching: no case, diacritics, punctuation or extra spaces."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


_HEADERS = {
    "code": (
        *("Mã hộ", "Mã hộ gia đình", "Mã", "Mã số hộ"),
        *("code", "household code", "household id", "id"),
    ),
    "head_name": (
        *("Họ tên chủ hộ", "Chủ hộ", "Họ và tên", "Họ tên", "Tên chủ hộ", "Tên"),
        *("name", "full name", "head", "head's name", "head name", "head of household"),
        "household head",
    ),
    "gender": ("Giới tính", "gender", "sex"),
    "ethnicity": ("Dân tộc", "ethnicity", "ethnic group"),
    "category": ("Phân loại", "Loại hộ", "Diện hộ", "category", "household category", "type"),
    "ward": ("Phường/xã", "Phường", "Xã", "ward", "commune", "ward/commune"),
    "hamlet": (
        *("Khóm/ấp", "Khóm", "Ấp", "Thôn", "Tổ"),
        *("hamlet", "village", "neighbourhood", "neighborhood"),
    ),
    "phone": (
        *("Số điện thoại", "SĐT", "Điện thoại"),
        *("phone", "phone number", "telephone", "mobile"),
    ),
    "notes": ("Ghi chú", "notes", "note", "remarks", "comments"),
}
HEADER_FIELDS = {_key(name): name_field for name_field, names in _HEADERS.items() for name in names}

_GENDERS = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "nu": "female",
    "female": "female",
    "f": "female",
}

_CATEGORIES = {
    **dict.fromkeys(("ho ngheo", "ngheo", "poor"), "poor"),
    **dict.fromkeys(("ho can ngheo", "can ngheo", "near poor"), "near_poor"),
    **dict.fromkeys(
        ("ho moi thoat ngheo", "moi thoat ngheo", "newly out of poverty", "new non poor"),
        "new_non_poor",
    ),
    **dict.fromkeys(("khac", "ho khac", "other"), "other"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass
class ParsedFile:
    """What a file holds: the rows fit to import, the problems (the first MAX_REPORTED of
    them, and how many more), and the data lines read. Once there is a problem no rows are
    kept: nothing will be imported."""

    rows: list[HouseholdRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_lines: int = 0  # data lines below the header, blank ones not counted
    more_errors: int = 0  # problems found beyond those listed

    def report(self, error: RowError) -> None:
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)
        else:
            self.more_errors += 1
        self.rows.clear()

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.more_errors


class UnreadableFile(Exception):
    """The file cannot be read at all (missing, not CSV or XLSX, broken); str() says why."""


def read_households(
    path: Path,
    t: Translator,
    progress: Callable[[int], None] | None = None,
    *,
    max_rows: int = MAX_ROWS,
) -> ParsedFile:
    """Read and check a household list, streaming it; `progress` is told how many lines
    have been read.

    Raises UnreadableFile when the file cannot be read, or is beyond the bounds (more than
    `max_rows` data rows, a CSV cell over CSV_FIELD_LIMIT characters, a workbook that
    declares more than XLSX_MAX_UNCOMPRESSED bytes); problems in its content are errors.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(
            t._("Cannot read {path}: only .csv and .xlsx files can be imported.").format(path=path)
        )
    if not path.is_file():
        raise UnreadableFile(t._("File not found: {path}").format(path=path))
    rows = csv_rows(path, t) if suffix == ".csv" else _xlsx_rows(path, t)
    return _check(rows, t, progress, path=path, max_rows=max_rows)


def csv_rows(path: Path, t: Translator) -> Iterator[list[str]]:
    """The rows of a UTF-8 CSV file (comma, semicolon or tab), read as they come; a file
    that is not UTF-8, or a cell over CSV_FIELD_LIMIT characters, is UnreadableFile."""
    not_utf8 = t._("Cannot read {path}: it is not in UTF-8. In Excel, save it as “CSV UTF-8”.")
    line = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first_line = ""
            for first_line in handle:
                if first_line.strip():
                    break
            handle.seek(0)
            delimiter = max((",", ";", "\t"), key=first_line.count)
            csv.field_size_limit(CSV_FIELD_LIMIT)
            reader = csv.reader(handle, delimiter=delimiter)
            for row in reader:
                line = reader.line_num
                yield row
    except UnicodeDecodeError:
        raise UnreadableFile(not_utf8.format(path=path)) from None
    except csv.Error:
        # The only error the csv module raises on its default dialect: a cell too long.
        raise UnreadableFile(
            t._(
                "Cannot read {path}: line {line} has a cell longer than {limit} characters."
            ).format(path=path, line=line + 1, limit=t.number(CSV_FIELD_LIMIT))
        ) from None
    except OSError as exc:
        raise UnreadableFile(
            t._("Cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None


def _declared_size(path: Path) -> int:
    """The bytes the workbook's zip says its parts hold once uncompressed (before any of it
    is uncompressed; zipfile reads no more than a part declares)."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _xlsx_rows(path: Path, t: Translator) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook  # lazy: openpyxl only for an .xlsx import (issue 14)

    not_xlsx = t._("Cannot read {path}: it is not a valid .xlsx workbook.")
    try:
        declared = _declared_size(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFile(not_xlsx.format(path=path)) from None
    if declared > XLSX_MAX_UNCOMPRESSED:
        raise UnreadableFile(
            t._(
                "Cannot read {path}: the workbook would take {size} MB once opened, more than "
                "the {limit} MB allowed. Save the list alone, without other sheets or pictures."
            ).format(
                path=path,
                size=t.number(declared >> 20),
                limit=t.number(XLSX_MAX_UNCOMPRESSED >> 20),
            )
        )
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise UnreadableFile(
            t._("Cannot read {path}: it is not a valid .xlsx workbook.").format(path=path)
        ) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write wrong dimensions; read every row
        yield from sheet.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError):
        raise UnreadableFile(not_xlsx.format(path=path)) from None
    finally:
        workbook.close()


def _text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", dates as dd/mm/yyyy, text in NFC."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return " ".join(unicodedata.normalize("NFC", str(value)).translate(_CONTROLS).split())


def _find_header(rows: Iterator[list[Any] | tuple[Any, ...]]) -> tuple[int, dict[str, int]]:
    """(line of the header, field -> column); 0 if the file is blank. A title may sit above.

    The header is the first row naming every required column among the first rows that are
    not blank; failing that, the first row that is not blank (its missing columns get reported).
    """
    first: tuple[int, dict[str, int]] | None = None
    looked = 0
    for line, raw in enumerate(rows, start=1):
        cells = [_text(v) for v in raw]
        if not any(cells):
            continue
        columns = _columns(cells)
        if all(f in columns for f in REQUIRED):
            return line, columns
        first = first or (line, columns)
        looked += 1
        if looked == _HEADER_SEARCH:
            break
    return first or (0, {})


def _columns(cells: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = HEADER_FIELDS.get(_key(cell))
        if name and name not in columns:  # the first of two columns for one field wins
            columns[name] = index
    return columns


def _check(
    rows: Iterable[list[Any] | tuple[Any, ...]],
    t: Translator,
    progress: Callable[[int], None] | None,
    *,
    path: Path,
    max_rows: int = MAX_ROWS,
) -> ParsedFile:
    parsed = ParsedFile()
    iterator = iter(rows)
    header_line, columns = _find_header(iterator)
    if header_line == 0:
        parsed.report(RowError(1, t._("Line {line}: the file is empty.").format(line=1)))
        return parsed
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        names = ", ".join(f"“{t._(LABELS[f])}”" for f in missing)
        parsed.report(
            RowError(
                header_line,
                t._("Line {line}: the file has no column for: {columns}.").format(
                    line=header_line, columns=names
                ),
            )
        )
        return parsed

    first_line: dict[str, int] = {}
    line = header_line
    for line, raw in enumerate(iterator, start=header_line + 1):
        if progress and line % _PROGRESS_EVERY == 0:
            progress(line)
        cells = [_text(v) for v in raw]
        values = {f: cells[i] if i < len(cells) else "" for f, i in columns.items()}
        if not any(values.values()):
            continue  # a blank row
        parsed.total_lines += 1
        if parsed.total_lines > max_rows:
            raise UnreadableFile(
                t._(
                    "Cannot import {path}: it has more than {limit} rows. Split it, or raise "
                    "DOITHOAI_IMPORT_MAX_ROWS."
                ).format(path=path, limit=t.number(max_rows))
            )
        row, errors = _row(line, values, first_line, t)
        if row is not None and not parsed.error_count:
            parsed.rows.append(row)
        for reason in errors:
            parsed.report(RowError(line, reason))
    if progress:
        progress(line)
    return parsed


def _row(
    line: int, values: dict[str, str], first_line: dict[str, int], t: Translator
) -> tuple[HouseholdRow | None, list[str]]:
    """One data row, checked: the household, or the reasons it cannot be imported."""
    errors: list[str] = []
    get = values.get
    code = get("code", "")
    _check_code(line, code, first_line, t, errors)

    if not get("head_name", ""):
        errors.append(
            t._("Line {line}: the name of the head of household is missing.").format(line=line)
        )

    gender, category = _gender_and_category(line, values, t, errors)

    if not get("ward", ""):
        errors.append(t._("Line {line}: the ward is missing.").format(line=line))

    phone: str | None = None
    try:
        phone = normalise_phone(get("phone", ""))
    except ValueError:
        errors.append(
            t._("Line {line}: the phone number “{value}” is not a Vietnamese number.").format(
                line=line, value=get("phone")
            )
        )

    _check_lengths(line, values, t, errors)

    if errors:
        return None, errors
    assert category is not None and gender is not None
    return (
        HouseholdRow(
            code=code,
            head_name=get("head_name", ""),
            gender=gender,
            ethnicity=get("ethnicity", ""),
            category=category,
            ward=get("ward", ""),
            hamlet=get("hamlet", ""),
            phone=phone,
            notes=get("notes", ""),
        ),
        [],
    )


def _check_code(
    line: int, code: str, first_line: dict[str, int], t: Translator, errors: list[str]
) -> None:
    """The household code: given, and on one line only."""
    if not code:
        errors.append(t._("Line {line}: the household code is missing.").format(line=line))
    elif code in first_line:
        errors.append(
            t._("Line {line}: the household code “{code}” is already on line {first}.").format(
                line=line, code=code, first=first_line[code]
            )
        )
    else:
        first_line[code] = line


def _gender_and_category(
    line: int, values: dict[str, str], t: Translator, errors: list[str]
) -> tuple[str | None, str | None]:
    """The head's gender (or "") and the household's category, as stored; None if not known."""
    get = values.get
    gender = _GENDERS.get(_key(get("gender", ""))) if get("gender") else ""
    if gender is None:
        errors.append(
            t._("Line {line}: the gender “{value}” is not male (Nam) or female (Nữ).").format(
                line=line, value=get("gender")
            )
        )

    category = _CATEGORIES.get(_key(get("category", "")))
    if not get("category"):
        errors.append(t._("Line {line}: the category is missing.").format(line=line))
    elif category is None:
        errors.append(
            t._(
                "Line {line}: the category “{value}” is not one of: poor, near-poor, "
                "newly out of poverty, other."
            ).format(line=line, value=get("category"))
        )
    return gender, category


def _check_lengths(line: int, values: dict[str, str], t: Translator, errors: list[str]) -> None:
    """The free-text columns: each within its limit."""
    get = values.get
    for name in _FREE_TEXT:
        value, limit = get(name, ""), LIMITS[name]
        if len(value) > limit:
            errors.append(
                t._(
                    "Line {line}: “{column}” is too long ({length} characters, at most {limit})."
                ).format(line=line, column=t._(LABELS[name]), length=len(value), limit=limit)
            )
