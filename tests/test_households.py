"""The household registry: a ward's list read, checked line by line, imported all or nothing."""

from __future__ import annotations

import asyncio
import csv
import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli.households import households_app
from bot.core.i18n import Translator
from bot.households_import import RowError, read_households
from storage.db import create_engine, session_factory
from storage.households import (
    LINK_CODE_ALPHABET,
    HouseholdRow,
    candidates,
    find_by_link_code,
    find_by_phone,
    household_stats,
    is_minority,
    normalise_phone,
    upsert_households,
)
from storage.models import Household

FIXTURES = Path(__file__).parent / "fixtures" / "households"
PHUONG7 = FIXTURES / "phuong7.csv"
BAD_ROWS = FIXTURES / "bad_rows.csv"
EN = Translator("en")


def households(*args: str, url: str, locale: str | None = "en", extra_env=None):
    """Run `doithoai households ARGS` on the database at URL, in LOCALE (None: the default)."""
    env = {"DOITHOAI_DATABASE_URL": url, "DOITHOAI_DEFAULT_LOCALE": locale, **(extra_env or {})}
    return CliRunner().invoke(households_app, list(args), env=env)


def stored(url: str) -> dict[str, Household]:
    """Every household in the database, by code."""

    async def load() -> dict[str, Household]:
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            found = {h.code: h for h in await session.scalars(select(Household))}
        await engine.dispose()
        return found

    return asyncio.run(load())


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


@pytest.fixture
async def sessions(database_url):
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


# Reading and importing


def test_the_ward_list_with_vietnamese_headers_is_imported_and_stored(database_url):
    result = households("import", str(PHUONG7), url=database_url)

    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported: 120 new, 0 updated, 0 unchanged.\n"
    found = stored(database_url)
    assert len(found) == 120
    lan = found["P7-002"]
    assert (lan.head_name, lan.gender, lan.ethnicity, lan.category) == (
        "Lê Thị Ngọc Ánh",
        "female",
        "Kinh",
        "poor",
    )
    assert (lan.ward, lan.hamlet, lan.phone) == ("Phường 7", "Khóm 4", "0357858118")
    assert lan.notes == "Chủ hộ là người cao tuổi sống một mình"
    khmer = found["LD-001"]
    assert (khmer.ward, khmer.ethnicity) == ("Xã Long Đức", "Khmer")
    assert {h.category for h in found.values()} == {"poor", "near_poor", "new_non_poor", "other"}
    link_codes = {h.link_code for h in found.values()}
    assert len(link_codes) == 120
    assert all(len(c) == 8 and set(c) <= set(LINK_CODE_ALPHABET) for c in link_codes)


def test_an_xlsx_with_english_headers_a_title_row_and_numeric_cells_is_read(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Poor and near-poor households, Phường 8, 2023"])
    sheet.append(["No.", "Household code", "Head's name", "Gender", "Ethnicity", "Category"])
    sheet.cell(2, 7, "Ward")
    sheet.cell(2, 8, "Hamlet")
    sheet.cell(2, 9, "Phone")
    sheet.cell(2, 10, "Notes")
    sheet.append([1, 8001, "Thạch Thị Sa Rươne", "F", "Khmer", "near-poor", "Phường 8", "Khóm 3"])
    sheet.cell(3, 9, 912345678)  # what a spreadsheet makes of 0912 345 678
    sheet.append([2, "P8-002", "Lưu Văn Phát", "male", "Hoa", "Newly out of poverty", "Phường 8"])
    sheet.cell(4, 9, 2943855123.0)  # a landline, read back as a float
    sheet.append([])
    sheet.append([3, "P8-003", "Trần Thị Mai", "female", "Kinh", "POOR", "Phường 8", "", "", "x"])
    path = tmp_path / "phuong8.xlsx"
    book.save(path)
    seen: list[int] = []

    parsed = read_households(path, EN, progress=seen.append)

    assert parsed.errors == []
    assert parsed.total_lines == 3
    assert parsed.rows == [
        HouseholdRow(
            code="8001",
            head_name="Thạch Thị Sa Rươne",
            gender="female",
            ethnicity="Khmer",
            category="near_poor",
            ward="Phường 8",
            hamlet="Khóm 3",
            phone="0912345678",
        ),
        HouseholdRow(
            code="P8-002",
            head_name="Lưu Văn Phát",
            gender="male",
            ethnicity="Hoa",
            category="new_non_poor",
            ward="Phường 8",
            phone="02943855123",
        ),
        HouseholdRow(
            code="P8-003",
            head_name="Trần Thị Mai",
            gender="female",
            ethnicity="Kinh",
            category="poor",
            ward="Phường 8",
            notes="x",
        ),
    ]
    assert seen and seen[-1] == 6


@pytest.mark.parametrize(
    "header",
    [
        ["Mã hộ", "Họ tên chủ hộ", "Phân loại", "Phường/xã"],
        ["MÃ HỘ GIA ĐÌNH", "CHỦ HỘ", "LOẠI HỘ", "PHƯỜNG / XÃ"],
        ["Ma ho", "Ho va ten", "Dien ho", "Xa"],
        ["  Mã  ", "Họ và tên (*)", "Diện hộ", "Phường"],
        ["code", "head name", "category", "ward"],
        ["Household Code", "HEAD'S NAME", "Category", "Ward"],
    ],
)
def test_headers_are_recognised_whatever_their_case_spacing_or_diacritics(tmp_path, header):
    path = write_csv(
        tmp_path / "list.csv", [header, ["A1", "Sơn Thị Phol", "cận nghèo", "Xã Long Đức"]]
    )

    parsed = read_households(path, EN)

    assert parsed.errors == []
    assert [(r.code, r.head_name, r.category, r.ward) for r in parsed.rows] == [
        ("A1", "Sơn Thị Phol", "near_poor", "Xã Long Đức")
    ]


@pytest.mark.parametrize(
    ("written", "category"),
    [
        ("Hộ nghèo", "poor"),
        ("nghèo", "poor"),
        ("HO NGHEO", "poor"),
        ("poor", "poor"),
        ("Hộ cận nghèo", "near_poor"),
        ("cận nghèo", "near_poor"),
        ("near-poor", "near_poor"),
        ("near_poor", "near_poor"),
        ("Hộ mới thoát nghèo", "new_non_poor"),
        ("mới thoát nghèo", "new_non_poor"),
        ("newly out of poverty", "new_non_poor"),
        ("new_non_poor", "new_non_poor"),
        ("Khác", "other"),
        ("other", "other"),
    ],
)
def test_categories_are_understood_as_wards_write_them(tmp_path, written, category):
    path = write_csv(
        tmp_path / "list.csv",
        [["Mã hộ", "Chủ hộ", "Phân loại", "Phường"], ["A1", "Lê Văn Tám", written, "Phường 7"]],
    )
    assert [r.category for r in read_households(path, EN).rows] == [category]


@pytest.mark.parametrize(
    ("written", "gender"),
    [("Nam", "male"), ("Nữ", "female"), ("nu", "female"), ("M", "male"), ("f", "female"), ("", "")],
)
def test_genders_are_understood_in_vietnamese_and_english(tmp_path, written, gender):
    path = write_csv(
        tmp_path / "list.csv",
        [
            ["Mã hộ", "Chủ hộ", "Giới tính", "Phân loại", "Phường"],
            ["A1", "Lê Út", written, "Khác", "P7"],
        ],
    )
    assert [r.gender for r in read_households(path, EN).rows] == [gender]


def test_a_list_without_a_required_column_is_one_error_on_line_1(tmp_path):
    path = write_csv(
        tmp_path / "list.csv", [["Mã hộ", "Chủ hộ", "Khóm"], ["A1", "Lê Út", "Khóm 1"]]
    )

    parsed = read_households(path, EN)

    assert parsed.rows == []
    assert parsed.errors == [
        RowError(1, "Line 1: the file has no column for: “Category”, “Ward”."),
    ]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(database_url):
    result = households("import", str(BAD_ROWS), url=database_url)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "Line 3: the household code is missing.",
        "Line 4: the household code “P7-101” is already on line 2.",
        "Line 5: the name of the head of household is missing.",
        "Line 6: the gender “Không rõ” is not male (Nam) or female (Nữ).",
        "Line 7: the category “Hộ khá giả” is not one of: poor, near-poor, newly out of poverty, other.",
        "Line 8: the ward is missing.",
        "Line 9: the phone number “0912 345” is not a Vietnamese number.",
        "Line 11: “Household code” is too long (38 characters, at most 32).",
        "Line 12: the category is missing.",
        "Line 13: the name of the head of household is missing.",
        "Line 13: the phone number “số cũ” is not a Vietnamese number.",
        "11 errors: nothing was imported.",
    ]
    assert stored(database_url) == {}


def test_the_import_and_the_stats_speak_vietnamese_by_default(sqlite_url):
    bad = households("import", str(BAD_ROWS), url=sqlite_url, locale=None)
    assert bad.stdout.splitlines()[0] == "Dòng 3: thiếu mã hộ."
    assert bad.stdout.splitlines()[-1] == "11 lỗi: chưa nhập hộ nào."

    good = households("import", str(PHUONG7), url=sqlite_url, locale=None)
    assert good.stdout == "Đã nhập: 120 hộ mới, 0 hộ cập nhật, 0 hộ không đổi.\n"

    stats = households("stats", url=sqlite_url, locale=None).stdout.splitlines()
    assert [c.strip() for c in stats[0].split("  ") if c.strip()] == [
        "Phường/xã",
        "Hộ nghèo",
        "Hộ cận nghèo",
        "Hộ mới thoát nghèo",
        "Khác",
        "Tổng",
    ]
    assert stats[-1].split() == ["Tổng", "20", "24", "18", "58", "120"]


def test_a_missing_file_or_another_format_stops_with_one_line(sqlite_url, tmp_path):
    missing = households("import", str(tmp_path / "nope.csv"), url=sqlite_url)
    assert missing.exit_code == 2
    assert missing.stderr == f"File not found: {tmp_path / 'nope.csv'}\n"

    (tmp_path / "list.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    old_excel = households("import", str(tmp_path / "list.xls"), url=sqlite_url)
    assert old_excel.exit_code == 2
    assert old_excel.stderr == (
        f"Cannot read {tmp_path / 'list.xls'}: only .csv and .xlsx files can be imported.\n"
    )

    # Excel's "Unicode text" is UTF-16
    (tmp_path / "utf16.csv").write_bytes("Mã hộ\tChủ hộ\n".encode("utf-16"))
    utf16 = households("import", str(tmp_path / "utf16.csv"), url=sqlite_url)
    assert utf16.exit_code == 2
    assert utf16.stderr == (
        f"Cannot read {tmp_path / 'utf16.csv'}: it is not in UTF-8. "
        "In Excel, save it as “CSV UTF-8”.\n"
    )


def test_an_undermigrated_database_is_named_not_written(tmp_path):
    result = households("import", str(PHUONG7), url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 2
    assert "doithoai db upgrade" in result.stderr


def test_reimporting_a_changed_list_updates_by_code_and_keeps_link_codes(database_url, tmp_path):
    households("import", str(PHUONG7), url=database_url)
    before = {code: h.link_code for code, h in stored(database_url).items()}
    with PHUONG7.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}
    body = [r for r in body if r[column["Mã hộ"]] != "P8-040"]  # left out: stays registered
    for row in body:
        if row[column["Mã hộ"]] == "P7-002":
            row[column["Phân loại"]] = "Hộ mới thoát nghèo"
        if row[column["Mã hộ"]] == "LD-001":
            row[column["Số điện thoại"]] = "0388 123 456"
    body.append(["121", "LD-039", "Sơn Thị Sa Vơn", "Nữ", "Khmer", "Hộ nghèo", "Xã Long Đức"])
    changed = write_csv(tmp_path / "phuong7-2024.csv", [header, *body])

    result = households("import", str(changed), url=database_url)

    assert result.stdout == "Imported: 1 new, 2 updated, 117 unchanged.\n"
    after = stored(database_url)
    assert len(after) == 121
    assert after["P7-002"].category == "new_non_poor"
    assert after["LD-001"].phone == "0388123456"
    assert after["LD-039"].hamlet == "" and after["LD-039"].phone is None
    assert {code: after[code].link_code for code in before} == before
    assert after["LD-039"].link_code not in before.values()


def test_stats_count_households_by_ward_and_category_with_totals(sqlite_url, tmp_path):
    path = write_csv(
        tmp_path / "list.csv",
        [
            ["Mã hộ", "Chủ hộ", "Phân loại", "Phường"],
            ["1", "Nguyễn Thị Lan", "Hộ nghèo", "Phường 7"],
            ["2", "Thạch Sa Rinh", "Hộ nghèo", "Phường 7"],
            ["3", "Lê Văn Tám", "Khác", "Phường 7"],
            ["4", "Kim Thị Đa Ni", "Hộ cận nghèo", "Xã Long Đức"],
            ["5", "Trần Văn Hùng", "Hộ mới thoát nghèo", "Xã Long Đức"],
        ],
    )
    households("import", str(path), url=sqlite_url)

    result = households("stats", url=sqlite_url)

    assert result.stdout.splitlines() == [
        "Ward         Poor  Near-poor  Newly out of poverty  Other  Total",
        "-----------  ----  ---------  --------------------  -----  -----",
        "Phường 7        2          0                     0      1      3",
        "Xã Long Đức     0          1                     1      0      2",
        "-----------  ----  ---------  --------------------  -----  -----",
        "Total           2          1                     1      1      5",
    ]


def test_stats_on_an_empty_registry_say_how_to_fill_it(sqlite_url):
    result = households("stats", url=sqlite_url)
    assert result.stdout == (
        "No households yet: import a list with `doithoai households import FILE`.\n"
    )


# Storage


async def test_household_stats_are_counts_by_ward_then_category(sessions):
    rows = [
        HouseholdRow(code=str(i), head_name="X", category=category, ward=ward)
        for i, (ward, category) in enumerate(
            [
                ("Phường 8", "poor"),
                ("Phường 7", "other"),
                ("Phường 7", "poor"),
                ("Phường 7", "poor"),
            ]
        )
    ]
    async with sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
    async with sessions() as session:
        assert await household_stats(session) == [
            ("Phường 7", "other", 1),
            ("Phường 7", "poor", 2),
            ("Phường 8", "poor", 1),
        ]


@pytest.mark.parametrize("listed", [1000, 1], ids=["minorities-listed", "looked-up-per-row"])
async def test_the_candidates_of_a_selection_are_the_households_of_its_wards_with_their_flags(
    sessions, listed, monkeypatch
):
    # With more spellings of minorities than the database is given as a list, the same.
    monkeypatch.setattr("storage.households.MINORITIES_LISTED", listed)
    rows = [
        HouseholdRow(
            code="1",
            head_name="Thạch Thị Sa",
            category="poor",
            ward="Phường 7",
            gender="female",
            ethnicity="Dân tộc Khmer",
        ),
        HouseholdRow(
            code="2",
            head_name="Lê Văn Tám",
            category="other",
            ward="Phường 7",
            gender="male",
            ethnicity="Kinh",
        ),
        HouseholdRow(
            code="3",
            head_name="Lâm Thị Hoa",
            category="near_poor",
            ward="Phường 8",
            gender="female",
            ethnicity="  KINH ",
        ),
        HouseholdRow(
            code="4",
            head_name="Sơn Văn Thol",
            category="new_non_poor",
            ward="Phường 8",
            gender="",
            ethnicity="khmer",
        ),
        HouseholdRow(code="5", head_name="Trần Văn Út", category="poor", ward="Phường 9"),
    ]
    async with sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
    async with sessions() as session:
        ids = {h.code: h.id for h in await session.scalars(select(Household))}
        two_wards = await candidates(session, wards=["Phường 7", "Phường 8"])
        every_ward = await candidates(session, wards=[])
    expected = {
        (ids["1"], "Phường 7", "poor", True, True),
        (ids["2"], "Phường 7", "other", False, False),
        (ids["3"], "Phường 8", "near_poor", True, False),
        (ids["4"], "Phường 8", "new_non_poor", False, True),
    }
    assert {
        (c.household_id, c.ward, c.category, bool(c.female), bool(c.minority)) for c in two_wards
    } == expected
    assert len(two_wards) == 4 and all(c.female in (0, 1) for c in two_wards)
    assert {c.household_id for c in every_ward} == set(ids.values())


async def test_a_household_is_found_by_its_link_code_in_any_case_and_by_phone(sessions):
    rows = [
        HouseholdRow(
            code="1", head_name="Tô Thị Kim Chi", category="poor", ward="P7", phone="0919123456"
        ),
        HouseholdRow(
            code="2", head_name="Kiên Thị Sa Ri", category="other", ward="P7", phone="0919123456"
        ),
        HouseholdRow(code="3", head_name="Lê Văn Tám", category="other", ward="P7"),
    ]
    async with sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
    async with sessions() as session:
        chi = (await session.scalars(select(Household).where(Household.code == "1"))).one()
        by_code = await find_by_link_code(session, link_code=f" {chi.link_code.lower()} ")
        assert by_code is not None and by_code.head_name == "Tô Thị Kim Chi"
        assert await find_by_link_code(session, link_code="AAAAAAAA") is None
        sharing = await find_by_phone(session, phone="+84 919.123.456")
        assert [h.head_name for h in sharing] == ["Tô Thị Kim Chi", "Kiên Thị Sa Ri"]
        assert await find_by_phone(session, phone="0912") == []
        assert await find_by_phone(session, phone="") == []


async def test_the_same_code_twice_in_one_upsert_is_refused(sessions):
    row = HouseholdRow(code="1", head_name="X", category="poor", ward="P7")
    async with sessions() as session, session.begin():
        with pytest.raises(ValueError, match="given twice"):
            await upsert_households(session, rows=[row, row])


async def test_a_hundred_thousand_households_are_upserted_in_bulk(sessions, database_url):
    wards = ["Phường 1", "Phường 7", "Phường 8", "Xã Long Đức"]
    categories = ["poor", "near_poor", "new_non_poor", "other"]
    rows = [
        HouseholdRow(
            code=f"TV-{i:06d}",
            head_name=f"Chủ hộ {i}",
            gender="female" if i % 2 else "male",
            ethnicity="Khmer" if i % 3 else "Kinh",
            category=categories[i % 4],
            ward=wards[i % 4],
            hamlet=f"Khóm {i % 9 + 1}",
            phone=f"09{i:08d}",
        )
        for i in range(100_000)
    ]
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        first = await upsert_households(session, rows=rows)
    inserted = time.perf_counter() - started
    rows[:1000] = [
        HouseholdRow(code=r.code, head_name=r.head_name, category="other", ward=r.ward)
        for r in rows[:1000]
    ]
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        second = await upsert_households(session, rows=rows)
    updated = time.perf_counter() - started
    print(
        f"\n100k upsert on {database_url.split(':')[0]}: {inserted:.1f} s new, {updated:.1f} s again"
    )

    assert (first.created, first.updated, first.unchanged) == (100_000, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 1000, 99_000)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Household)) == 100_000
        assert (
            await session.scalar(
                select(func.count(func.distinct(Household.link_code))).select_from(Household)
            )
            == 100_000
        )
        assert (
            await session.scalar(
                select(func.count()).where(Household.category == "other", Household.phone.is_(None))
            )
            == 1000
        )


# Rules on the data


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("0912-345-678", "0912345678"),
        ("(0912) 345 678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("+84 (0) 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0084912345678", "0912345678"),
        ("912345678", "0912345678"),  # a spreadsheet dropped the zero
        ("0388123456", "0388123456"),
        ("0294 3855 123", "02943855123"),  # a landline in Trà Vinh
        ("(0294) 3.855.123", "02943855123"),
        ("2943855123", "02943855123"),
        ("+84 294 3855 123", "02943855123"),
        ("01681234567", "0381234567"),  # an old 11-digit Viettel number
        ("0123 456 7890", "0834567890"),  # an old VinaPhone number
        ("", None),
        ("   ", None),
    ],
)
def test_phone_numbers_are_written_the_one_vietnamese_way(raw, phone):
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345",
        "09123456789",
        "0123456789",
        "0612345678",
        "số cũ",
        "0912345678 / 0913",
        "+1 555 123 4567",
        "0",
    ],
)
def test_what_is_not_a_vietnamese_phone_number_is_refused(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)


@pytest.mark.parametrize(
    ("ethnicity", "minority"),
    [
        ("Kinh", False),
        ("kinh", False),
        (" KINH ", False),
        ("Dân tộc Kinh", False),
        ("", False),
        ("Khmer", True),
        ("Hoa", True),
        ("Chăm", True),
        ("Khơ-me", True),
    ],
)
def test_every_ethnicity_but_kinh_is_a_minority(ethnicity, minority):
    assert is_minority(ethnicity) is minority
