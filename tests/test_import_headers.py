"""English headers are accepted beside the Vietnamese ones (`name`, `ward`, …), and the README
lists every header the import accepts."""

from __future__ import annotations

from pathlib import Path

from bot.households_import import _HEADERS
from tests.test_households import households, stored, write_csv

ROOT = Path(__file__).resolve().parent.parent


def test_a_list_with_plain_english_headers_is_imported(tmp_path, sqlite_url):
    path = write_csv(
        tmp_path / "registry.csv",
        [
            ["id", "name", "sex", "ethnic group", "type", "commune", "village", "mobile", "note"],
            [
                "EN-001",
                "Nguyễn Thị Lan",
                "female",
                "Kinh",
                "poor",
                "Phường 7",
                "Khóm 3",
                "0912345678",
                "",
            ],
            [
                "EN-002",
                "Thạch Sa Rươne",
                "male",
                "Khmer",
                "near poor",
                "Phường 7",
                "Khóm 4",
                "",
                "hamlet head",
            ],
        ],
    )
    result = households("import", str(path), url=sqlite_url)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "Imported: 2 new, 0 updated, 0 unchanged.\n"
    found = stored(sqlite_url)
    lan, rune = found["EN-001"], found["EN-002"]
    assert (lan.head_name, lan.gender, lan.category, lan.ward, lan.hamlet, lan.phone) == (
        "Nguyễn Thị Lan",
        "female",
        "poor",
        "Phường 7",
        "Khóm 3",
        "0912345678",
    )
    assert (rune.ethnicity, rune.category, rune.notes) == ("Khmer", "near_poor", "hamlet head")


def test_the_readme_lists_every_accepted_header():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The household registry") :]
    section = section[: section.index("### Selection by quota")]
    missing = [name for names in _HEADERS.values() for name in names if f"`{name}`" not in section]
    assert missing == []
