"""Khmer script on paper and in the chart: a Khmer household's letter is the Vietnamese letter
followed by its Khmer page, both naming a Khmer-capable font (with fallbacks) that LibreOffice
finds and embeds; a question written in Khmer keeps its letters in the minutes' fonts; the
digest's chart in Khmer is drawn with a Khmer font and no missing glyph."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import warnings
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import update

from bot.core.i18n import Translator
from bot.documents import admin, ooxml
from bot.documents.chart import KHMER_FONTS, Bars, DigestChart, families, khmer_font, render
from bot.documents.letters import Letter, LetterDialogue, write_invitation_letters
from bot.documents.qr import deep_link
from handlers.language_hint import is_khmer
from storage.db import create_engine, session_factory
from storage.models import Question
from storage.topics import AGENCIES, TOPICS
from tests.test_dialogue_commands import _doithoai, _ok
from tests.test_exports import build, export
from tests.test_letters import _is_qr_of, _pages, _text, _times_or_same_metrics

VI, KM = Translator("vi"), Translator("km")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFFONTS = shutil.which("pdffonts")
KHMER = re.compile("[\u1780-\u17ff]")


def _words(t: Translator, topics: list[str] | None = None) -> LetterDialogue:
    return LetterDialogue(
        title="Đối thoại chính sách giảm nghèo năm 2026",
        when=t.datetime(datetime(2026, 12, 2, 8, 0, tzinfo=VI.zone)),
        venue="Hội trường Ủy ban nhân dân Phường 7, khóm 3",
        topics=topics or [t._(TOPICS[c].name) for c in ("tindung", "yte", "datnha")],
        question_deadline=t.date(date(2026, 11, 27)),
        issuer=t._("PEOPLE'S COMMITTEE OF {ward}").format(ward="PHƯỜNG 7"),
        superior="",
        place="Phường 7",
        issued_on=date(2026, 11, 20),
        number="",
        signer_title=t._("CHAIRPERSON"),
        signer_name="",
    )


DIALOGUE = replace(_words(VI), khmer=_words(KM))
LETTERS = [
    Letter(
        "TV-P7-0013",
        "Thạch Sa Rươne",
        False,
        "Khóm 4",
        "Phường 7",
        deep_link("dt_bot", "B3N8W2YJ"),
        khmer=True,
    ),
    Letter("TV-P7-0014", "Lê Văn Bình", None, "", "Phường 7", deep_link("dt_bot", "H5D1F7GK")),
]


def _write(tmp_path: Path, dialogue: LetterDialogue = DIALOGUE) -> Path:
    path = tmp_path / "giay-moi.docx"
    assert write_invitation_letters(path, dialogue, LETTERS, VI) == len(LETTERS)
    return path


def _runs(path: Path):
    return [run for p in Document(str(path)).paragraphs for run in p.runs] + [
        run
        for table in Document(str(path)).tables
        for row in table.rows
        for cell in row.cells
        for p in cell.paragraphs
        for run in p.runs
    ]


def test_the_registry_names_the_khmer_however_the_ward_wrote_it():
    for written in (
        "Khmer",
        "khmer",
        "Khơ-me",
        "Khơ me",
        "Dân tộc Khmer",
        "KHMER KROM",
        "Người Khmer",
    ):
        assert is_khmer(written), written
    for written in ("Kinh", "Hoa", "Chăm", "", "Khác"):
        assert not is_khmer(written), written


def test_a_khmer_households_letter_is_the_vietnamese_letter_then_its_khmer_page(tmp_path):
    text = [p.text for p in Document(str(_write(tmp_path))).paragraphs]
    # Vietnamese first, Khmer after it, then the next household's letter in Vietnamese only.
    first_vi = text.index("GIẤY MỜI")
    khmer_title = text.index("លិខិតអញ្ជើញ")
    second_vi = text.index("GIẤY MỜI", first_vi + 1)
    assert first_vi < khmer_title < second_vi
    khmer_page = " ".join(text[khmer_title:second_vi])
    assert "ជូនចំពោះ៖ លោក Thạch Sa Rươne" in khmer_page
    assert "ត្រូវបានអញ្ជើញដោយសេចក្តីគោរព" in khmer_page
    assert not any(KHMER.search(line) for line in text[second_vi:])
    # The national name and motto head the Khmer page too, untranslated; its date is Khmer's,
    # and so are its time and its signature.
    cells = [run.text for run in _runs(tmp_path / "giay-moi.docx")]
    assert cells.count(admin.NATIONAL_NAME) == 3 and cells.count(admin.MOTTO) == 3
    assert "Phường 7, ថ្ងៃទី20 ខែវិច្ឆិកា ឆ្នាំ2026" in cells
    assert "08:00, ថ្ងៃពុធ 02/12/2026" in khmer_page
    assert "ប្រធាន" in cells and "តំណាងគណៈកម្មាធិការប្រជាជន" in cells


def test_each_khmer_page_of_many_names_its_own_household_with_its_salutation_and_qr_code(tmp_path):
    households = [
        Letter(f"TV-P7-00{n}", name, female, "Khóm 4", "Phường 7", deep_link("dt_bot", code), True)
        for n, (name, female, code) in enumerate(
            [
                ("Thạch Thị Sa Rây", True, "K4M7P2QR"),
                ("Sơn Văn Thol", False, "W9X3C6TU"),
                ("Kim Sóc Phal", None, "J2N5V8EA"),
                ("Thạch Thị Nương", True, "D4G7H3LY"),
            ],
            start=20,
        )
    ]
    path = tmp_path / "giay-moi.docx"
    assert write_invitation_letters(path, DIALOGUE, households, VI) == 4

    document = Document(str(path))
    pages = _pages(path)
    assert len(pages) == 8  # each household: its Vietnamese page, then its Khmer page
    salutations = {True: "លោកស្រី", False: "លោក", None: "លោក/លោកស្រី"}
    for letter, vietnamese, khmer in zip(households, pages[::2], pages[1::2], strict=True):
        text = _text(khmer)
        assert "លិខិតអញ្ជើញ" in text and "GIẤY MỜI" in _text(vietnamese)
        assert f"ជូនចំពោះ៖ {salutations[letter.female]} {letter.head_name}" in text
        assert letter.household_code in text and letter.link in text
        for other in households:
            if other is not letter:
                assert other.head_name not in text and other.link not in text
        for page in (vietnamese, khmer):
            (blip,) = [rid for block in page for rid in block.xpath(".//a:blip/@r:embed")]
            assert _is_qr_of(document.part.related_parts[blip].blob, letter.link)


def test_khmer_runs_name_the_khmer_font_at_their_size_and_the_font_table_its_fallbacks(tmp_path):
    path = _write(tmp_path)
    khmer_runs = [run for run in _runs(path) if KHMER.search(run.text)]
    assert khmer_runs
    for run in khmer_runs:
        properties = run._r.rPr
        fonts = properties.find(qn("w:rFonts"))
        # Latin letters stay in Times New Roman; Khmer ones take the complex-script font.
        assert fonts.get(qn("w:ascii")) == "Times New Roman"
        assert fonts.get(qn("w:cs")) == ooxml.KHMER_FONT == "Khmer OS Siemreap"
        # Set a little smaller than the Latin beside it, as Khmer documents set their text.
        size = run.font.size.pt
        assert properties.find(qn("w:szCs")).get(qn("w:val")) == str(round(size * 0.8 * 2))
        assert properties.find(qn("w:lang")).get(qn("w:bidi")) == "km-KH"
        if run.font.bold:
            assert properties.find(qn("w:bCs")) is not None
    with zipfile.ZipFile(path) as archive:
        table = archive.read("word/fontTable.xml").decode("utf-8")
    assert '<w:font w:name="Khmer OS Siemreap">' in table
    assert '<w:altName w:val="Khmer OS,Khmer UI,Noto Sans Khmer,Leelawadee UI,DaunPenh"/>' in table


def test_a_vietnamese_only_letter_has_no_khmer_page(tmp_path):
    path = tmp_path / "giay-moi.docx"
    write_invitation_letters(path, DIALOGUE, [replace(LETTERS[0], khmer=False)], VI)
    assert not any(KHMER.search(p.text) for p in Document(str(path)).paragraphs)


# --- LibreOffice: the Khmer letters as printed ------------------------------------------------


def _khmer_fonts_installed() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(
        ["fc-list", ":lang=km", "family"], capture_output=True, text=True, check=False
    ).stdout
    return bool(listed.strip())


@pytest.fixture(scope="module")
def khmer_letters_as_pdf(tmp_path_factory) -> Path:
    """The letters with every topic, converted to PDF by LibreOffice once."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    if not _khmer_fonts_installed():
        pytest.skip("no Khmer font installed (Debian: fonts-khmeros)")
    folder = tmp_path_factory.mktemp("pdf")
    every_topic = replace(
        _words(VI, [VI._(topic.name) for topic in TOPICS.values()]),
        khmer=_words(KM, [KM._(topic.name) for topic in TOPICS.values()]),
    )
    path = _write(folder, every_topic)
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return folder / "giay-moi.pdf"


def test_libreoffice_embeds_a_khmer_font_for_the_khmer_page(khmer_letters_as_pdf):
    if PDFFONTS is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    listing = subprocess.run(
        [PDFFONTS, str(khmer_letters_as_pdf)], capture_output=True, text=True, check=True
    ).stdout
    fonts = [line.split()[0] for line in listing.splitlines()[2:] if line.strip()]
    # Every font embedded (a reader's machine needs none of them), one of them Khmer.
    assert all(line.split()[-5] == "yes" for line in listing.splitlines()[2:] if line.strip())
    assert any("Khmer" in font for font in fonts), listing


@pytest.mark.skipif(
    not _times_or_same_metrics(), reason="no Times New Roman nor a font with its metrics"
)
def test_each_khmer_page_stays_on_its_own_page(khmer_letters_as_pdf):
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", khmer_letters_as_pdf.read_bytes()))
    assert pages == len(LETTERS) + 1  # the Khmer household's letter is two pages


# --- the chart ---------------------------------------------------------------------------------


def test_the_digest_chart_in_khmer_has_every_glyph_in_a_khmer_font():
    if khmer_font() is None:
        pytest.skip("no Khmer font installed (Debian: fonts-khmeros or fonts-noto-core)")
    assert families() == ["DejaVu Sans", khmer_font()] and khmer_font() in KHMER_FONTS
    chart = DigestChart(
        title=KM._("Report of {date}").format(date=KM.short_date(date(2026, 11, 21))),
        subtitle="Phường 7",
        topics_heading=KM._("Questions by topic"),
        states=(
            KM._("Waiting for moderation"),
            KM._("Waiting for an answer"),
            KM._("Answered"),
            KM._("With a commitment"),
        ),
        topics=tuple(
            Bars(KM._(topic.name), (n % 3, n, n % 2, 1)) for n, topic in enumerate(TOPICS.values())
        ),
        no_questions=KM._("No questions yet"),
        overdue_heading=KM._("Overdue by agency"),
        overdue_parts=(KM._("Questions"), KM._("Commitments")),
        overdue=tuple(
            Bars(KM._(agency.name), (n, 1)) for n, agency in enumerate(AGENCIES.values())
        ),
        nothing_overdue=KM._("Nothing overdue"),
        others=KM._("The rest"),
    )
    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" for every letter it cannot draw.
        warnings.simplefilter("error")
        png = render(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == render(chart)  # the same data, the same bytes
    assert len(io.BytesIO(png).getvalue()) > 20_000


# --- the minutes ------------------------------------------------------------------------------

KHMER_QUESTION = "តើគ្រួសារជិតក្រីក្រអាចខ្ចីប្រាក់បានច្រើនបំផុតប៉ុន្មាន?"


async def _one_question_in_khmer(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Question)
                .where(Question.text == "Hộ cận nghèo được vay vốn tối đa bao nhiêu?")
                .values(text=KHMER_QUESTION)
            )
    finally:
        await engine.dispose()


def test_a_question_written_in_khmer_keeps_its_khmer_font_in_the_minutes(tmp_path, database_url):
    built = build(database_url)
    asyncio.run(_one_question_in_khmer(database_url))
    path = tmp_path / "bien-ban.docx"
    result = export("minutes", str(built.dialogue), "--out", str(path), url=database_url)
    assert result.exit_code == 0, result.output
    [line] = [p for p in Document(str(path)).paragraphs if KHMER_QUESTION in p.text]
    for run in line.runs:
        fonts = run._r.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:ascii")) == "Times New Roman"
        expected = ooxml.KHMER_FONT if KHMER.search(run.text) else "Times New Roman"
        assert fonts.get(qn("w:cs")) == expected, run.text


def test_the_invite_command_adds_a_khmer_page_to_the_letters_of_khmer_households(tmp_path):
    registry = tmp_path / "ho.csv"
    registry.write_text(
        "Mã hộ,Họ tên chủ hộ,Giới tính,Dân tộc,Phân loại,Phường/xã,Khóm/ấp\n"
        "P7-101,Thạch Thị Sa Ly,Nữ,Khơ-me,Hộ nghèo,Phường 7,Khóm 3\n"
        "P7-102,Nguyễn Văn Hai,Nam,Kinh,Khác,Phường 7,Khóm 4\n",
        encoding="utf-8",
    )
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    _ok(_doithoai(tmp_path, "households", "import", str(registry)))
    _ok(
        _doithoai(
            tmp_path,
            "dialogue",
            "create",
            "--title",
            "Đối thoại chính sách giảm nghèo 2027",
            "--start",
            "2027-04-26 08:00",
            "--venue",
            "Hội trường UBND Phường 7",
            "--wards",
            "Phường 7",
            "--topics",
            "giamngheo,tindung",
            "--total",
            "2",
            "--priority",
            "1",
        )
    )
    _ok(_doithoai(tmp_path, "dialogue", "select", "1", "--seed", "7"))
    letters = tmp_path / "giay-moi.docx"
    _ok(_doithoai(tmp_path, "dialogue", "invite", "1", "--letters", str(letters)))
    text = [p.text for p in Document(str(letters)).paragraphs]
    assert text.count("GIẤY MỜI") == 2 and text.count("លិខិតអញ្ជើញ") == 1
    khmer_page = " ".join(text[text.index("លិខិតអញ្ជើញ") :])
    assert "Thạch Thị Sa Ly" in khmer_page and "08:00, ថ្ងៃច័ន្ទ 26/04/2027" in khmer_page
    assert "ការកាត់បន្ថយភាពក្រីក្រ" in khmer_page  # the topics in Khmer
