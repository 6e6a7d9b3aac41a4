"""The compiled catalogs kept beside the .po files: a process loads them instead of parsing
the .po, and an edited .po is never shadowed by the .mo of its older text."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core import i18n


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "locales"
    for locale in i18n.SUPPORTED:
        messages = folder / locale / "LC_MESSAGES"
        messages.mkdir(parents=True)
        shutil.copy(i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po", messages)
    monkeypatch.setattr(i18n, "LOCALES_DIR", folder)
    i18n.translations.cache_clear()
    yield folder
    i18n.translations.cache_clear()


def compiled(folder: Path, locale: str) -> list[Path]:
    return sorted((folder / locale / "LC_MESSAGES").glob("messages.*.mo"))


def test_a_catalog_compiled_once_is_kept_and_what_the_next_process_reads(locales: Path):
    assert i18n.translations("vi").ugettext("(none)") == "(không chọn)"
    kept = compiled(locales, "vi")
    assert len(kept) == 1

    # The next process reads the kept file, not the .po: a kept file saying otherwise is believed.
    po = locales / "vi" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(po.read_bytes()), locale="vi", domain="messages")
    catalog["(none)"].string = "(đọc từ tệp đã dịch)"
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    kept[0].write_bytes(buffer.getvalue())
    i18n.translations.cache_clear()
    assert i18n.translations("vi").ugettext("(none)") == "(đọc từ tệp đã dịch)"
    assert compiled(locales, "vi") == kept


def test_an_edited_po_is_compiled_again_and_the_old_file_removed(locales: Path):
    i18n.translations("vi")
    old = compiled(locales, "vi")
    po = locales / "vi" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "(không chọn)"', 'msgstr "(chưa có)"', 1), encoding="utf-8")
    i18n.translations.cache_clear()
    assert i18n.translations("vi").ugettext("(none)") == "(chưa có)"
    new = compiled(locales, "vi")
    assert len(new) == 1 and new != old


def test_where_the_compiled_file_cannot_be_kept_the_catalog_is_compiled_in_memory(locales: Path):
    po = locales / "vi" / "LC_MESSAGES" / "messages.po"
    name = f"messages.{hashlib.sha1(po.read_bytes()).hexdigest()[:16]}.mo"
    (po.parent / name / "taken").mkdir(parents=True)  # a folder where the file would go
    assert i18n.translations("vi").ugettext("(none)") == "(không chọn)"
    assert (po.parent / name).is_dir()
    assert not list(po.parent.glob("*.part"))
