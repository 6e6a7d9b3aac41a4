"""The catalogs: complete in Vietnamese, English and Khmer, placeholders intact, in step with the
code."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.core.i18n import LOCALES_DIR, SUPPORTED, Translator, choose

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w*)\}(?!\})")


def _catalog(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def _extracted(tmp_path: Path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "pyproject.toml",
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "-o",
            str(pot),
            "bot",
            "handlers",
            "storage",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def test_every_text_in_the_code_is_in_every_catalog(tmp_path):
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in _extracted(tmp_path) if m.id}
    assert len(extracted) > 50
    for locale in SUPPORTED:
        catalog = _catalog(locale)
        present = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert extracted - present == set(), f"{locale}: run pybabel update"
        assert present - extracted == set(), f"{locale}: obsolete entries"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_message_is_translated_and_keeps_its_placeholders(locale):
    for message in _catalog(locale):
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            assert string, f"{locale}: untranslated {message.id!r}"
            assert set(PLACEHOLDER.findall(string)) <= wanted, (locale, message.id, string)
        if isinstance(message.id, str):
            assert set(PLACEHOLDER.findall(strings[0])) == wanted, (locale, message.id)


def test_vietnamese_texts_have_their_diacritics():
    t = Translator("vi")
    assert t._("Send a question") == "Gửi câu hỏi"
    assert t._("Delete my data") == "Xoá dữ liệu của tôi"


def test_dates_are_written_as_vietnamese_people_write_them():
    t = Translator("vi")
    assert t.date(date(2023, 4, 26)) == "Thứ Tư, 26/04/2023"
    # 01:30 UTC is 08:30 in Hà Nội: the configured zone, never pytz's +07:07
    assert t.datetime(datetime(2023, 4, 26, 1, 30, tzinfo=UTC)) == "08:30, Thứ Tư, 26/04/2023"
    assert Translator("en").date(date(2023, 4, 26)) == "Wednesday 26 April 2023"


def test_an_unsupported_or_missing_locale_falls_back_to_the_default():
    assert choose("en-US", "vi") == "en"
    assert choose("km-KH", "vi") == "km"
    assert choose("fr", "vi") == "vi"
    assert choose(None, "en") == "en"


def test_khmer_is_a_language_of_the_service():
    assert SUPPORTED == ("vi", "en", "km")
    t = Translator("km")
    assert t._("Send a question") == "ផ្ញើសំណួរ"
    assert t._("Delete my data") == "លុបទិន្នន័យរបស់ខ្ញុំ"


def test_dates_and_numbers_in_khmer_come_from_babels_khmer_data():
    t = Translator("km")
    # Babel's Khmer name of Wednesday, after "ថ្ងៃ" (day), then the day-first numbers.
    assert t.date(date(2023, 4, 26)) == "ថ្ងៃពុធ 26/04/2023"
    assert t.short_date(date(2023, 4, 26)) == "26/04/2023"
    assert t.datetime(datetime(2023, 4, 26, 1, 30, tzinfo=UTC)) == "08:30, ថ្ងៃពុធ 26/04/2023"
    assert t.number(1234567) == "1,234,567"


def _review_listed() -> set[str]:
    """The English texts that locales/km/REVIEW.md lists: the "- " items of its sections, with
    "⏎" where the text has a line break."""
    listed, in_sections = set(), False
    for line in (LOCALES_DIR / "km" / "REVIEW.md").read_text(encoding="utf-8").splitlines():
        in_sections = in_sections or line.startswith("## ")
        if in_sections and line.startswith("- "):
            listed.add(line[2:].replace(" ⏎ ", "\n"))
    return listed


def test_the_khmer_entries_a_native_speaker_must_review_are_marked_and_listed():
    marked = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in _catalog("km")
        if m.id and any(c.startswith("REVIEW:") for c in m.user_comments)
    }
    consent = "Hello! Here you can send questions to the policy dialogue"
    assert any(text.startswith(consent) for text in marked)
    assert "Your question is anonymous: nobody can see who asked it." in marked
    assert "This cannot be undone." in " ".join(marked)  # deleting one's data
    assert marked == _review_listed()
