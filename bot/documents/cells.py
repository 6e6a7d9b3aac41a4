"""Values people typed, made safe for a spreadsheet (OWASP "CSV injection").

A cell that starts with = + - @, a tab or a carriage return is read by Excel and LibreOffice as
a formula, which can fetch a link or run a command when the file is opened. In XLSX such a
value is kept as a string cell (never a formula); in CSV, which has no types, it is prefixed
with an apostrophe, as OWASP advises, so that it shows as the text that was typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def append_as_text(sheet: Worksheet, row: list[Any]) -> None:
    """`sheet.append(row)`, every text kept a string cell: openpyxl would make "=…" a formula."""
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.data_type != "s":
            cell.data_type = "s"
