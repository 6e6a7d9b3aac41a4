"""Hostile and careless household lists: every one ends in a clear answer, bounded in memory
and time, and nothing is half imported (issue 12, item 7). The files are made here."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.households_import import (
    CSV_FIELD_LIMIT,
    MAX_REPORTED,
    XLSX_MAX_UNCOMPRESSED,
    read_households,
)
from tests.test_households import EN, households, stored, write_csv

HEADER = ["Mã hộ", "Họ tên chủ hộ", "Phân loại", "Phường/xã"]


def good_row(number: int) -> list[str]:
    return [f"P7-{number:04d}", f"Chủ hộ {number}", "Hộ nghèo", "Phường 7"]


def test_a_list_of_many_bad_lines_reports_the_first_hundred_and_counts_the_rest(
    sqlite_url, tmp_path
):
    rows = [HEADER, good_row(1)] + [["", "", "giàu", ""] for _ in range(2_000)]
    path = write_csv(tmp_path / "bad.csv", rows)

    result = households("import", str(path), url=sqlite_url)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == MAX_REPORTED + 2
    assert lines[0] == "Line 3: the household code is missing."
    assert lines[-2] == "… and 7,900 more."  # four problems a line, 8,000 in all
    assert lines[-1] == "8,000 errors: nothing was imported."
    assert stored(sqlite_url) == {}


def test_a_good_row_among_bad_ones_is_not_imported(database_url, tmp_path):
    path = write_csv(tmp_path / "mixed.csv", [HEADER, good_row(1), ["P7-2", "", "x", ""]])
    assert households("import", str(path), url=database_url).exit_code == 1
    assert stored(database_url) == {}


def test_a_cell_over_the_csv_limit_is_one_line_not_a_csv_error(sqlite_url, tmp_path):
    path = write_csv(
        tmp_path / "huge.csv", [HEADER, ["P7-1", "x" * (CSV_FIELD_LIMIT + 1), "Hộ nghèo", "P7"]]
    )

    result = households("import", str(path), url=sqlite_url)

    assert result.exit_code == 2
    assert result.stderr == (
        f"Cannot read {path}: line 2 has a cell longer than 1,048,576 characters.\n"
    )
    assert "Traceback" not in result.output and stored(sqlite_url) == {}


def test_a_cell_longer_than_pythons_default_limit_is_read_and_reported_too_long(tmp_path):
    path = write_csv(tmp_path / "long.csv", [HEADER, ["P7-1", "x" * 200_000, "Hộ nghèo", "P7"]])
    parsed = read_households(path, EN)
    assert parsed.rows == []
    [error] = parsed.errors
    assert "too long (200000 characters, at most 200)" in error.reason


def test_nul_and_control_characters_in_cells_are_removed(database_url, tmp_path):
    path = write_csv(
        tmp_path / "nul.csv",
        [HEADER, ["P7-1\x00", "Lê\x00 Thị\x07 Út\x1b", "Hộ nghèo", "Phường\x00 7"]],
    )
    result = households("import", str(path), url=database_url)
    assert result.exit_code == 0, result.output
    household = stored(database_url)["P7-1"]
    assert (household.head_name, household.ward) == ("Lê Thị Út", "Phường 7")


def test_a_list_longer_than_the_row_limit_is_refused_whole(sqlite_url, tmp_path):
    path = write_csv(tmp_path / "long.csv", [HEADER] + [good_row(n) for n in range(6)])
    runner_env = {"DOITHOAI_IMPORT_MAX_ROWS": "5"}
    result = households("import", str(path), url=sqlite_url, extra_env=runner_env)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Cannot import {path}: it has more than 5 rows. Split it, or raise "
        "DOITHOAI_IMPORT_MAX_ROWS.\n"
    )
    assert stored(sqlite_url) == {}
    path = write_csv(tmp_path / "fits.csv", [HEADER] + [good_row(n) for n in range(5)])
    assert households("import", str(path), url=sqlite_url, extra_env=runner_env).exit_code == 0


def _workbook(path: Path, rows: list[list[str]]) -> Path:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def test_a_workbook_longer_than_the_row_limit_is_refused(sqlite_url, tmp_path):
    path = _workbook(tmp_path / "long.xlsx", [HEADER] + [good_row(n) for n in range(6)])
    result = households(
        "import", str(path), url=sqlite_url, extra_env={"DOITHOAI_IMPORT_MAX_ROWS": "5"}
    )
    assert result.exit_code == 2 and "more than 5 rows" in result.stderr
    assert stored(sqlite_url) == {}


def test_a_workbook_that_declares_too_much_once_uncompressed_is_not_opened(sqlite_url, tmp_path):
    path = _workbook(tmp_path / "bomb.xlsx", [HEADER, good_row(1)])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/media/padding.bin", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range((XLSX_MAX_UNCOMPRESSED >> 20) + 1):
                member.write(block)
    assert path.stat().st_size < 2 << 20  # a small file that would open huge

    result = households("import", str(path), url=sqlite_url)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Cannot read {path}: the workbook would take 257 MB once opened")
    assert stored(sqlite_url) == {}


@pytest.mark.parametrize("cut", [100, 2000, -50], ids=["head", "middle", "tail"])
def test_a_cut_off_workbook_is_one_line(sqlite_url, tmp_path, cut):
    whole = _workbook(tmp_path / "whole.xlsx", [HEADER] + [good_row(n) for n in range(300)])
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole.read_bytes()[:cut])
    result = households("import", str(path), url=sqlite_url)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Cannot read {path}: it is not a valid .xlsx workbook.\n"


def test_a_csv_that_stops_being_utf8_halfway_is_one_line(sqlite_url, tmp_path):
    path = tmp_path / "mixed.csv"
    rows = [HEADER] + [good_row(n) for n in range(3_000)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    with path.open("ab") as handle:
        handle.write("P7-9999,Lê Văn Tư,Hộ nghèo,Phường 7\n".encode("latin-1", "replace"))
    result = households("import", str(path), url=sqlite_url)
    assert result.exit_code == 2
    assert "it is not in UTF-8" in result.stderr and stored(sqlite_url) == {}
