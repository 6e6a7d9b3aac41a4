"""Printed invitation letters: one A4 page per household, laid out as a Vietnamese administrative
document, each with a QR code of the household's own link."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import segno
import zxingcpp
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from PIL import Image

from bot.core.i18n import Translator
from bot.documents.letters import (
    MOTTO,
    NATIONAL_NAME,
    SALUTATIONS,
    Letter,
    LetterDialogue,
    issued_on_line,
    write_invitation_letters,
)
from bot.documents.qr import deep_link, qr_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FONT = "Times New Roman"

DIALOGUE = LetterDialogue(
    title="Đối thoại chính sách giảm nghèo năm 2026",
    when="08:00, Thứ Tư, 02/12/2026",
    venue="Hội trường Ủy ban nhân dân Phường 7, khóm 3",
    topics=["Tín dụng và vay vốn", "Y tế và bảo hiểm y tế", "Đất ở và nhà ở"],
    question_deadline="Thứ Sáu, 27/11/2026",
    issuer="Ủy ban nhân dân Phường 7",
    superior="UBND thành phố Trà Vinh",
    place="Trà Vinh",
    issued_on=date(2026, 2, 5),
    number="12/GM-UBND",
    signer_title="CHỦ TỊCH",
    signer_name="Nguyễn Thị Ngọc Nhi",
)

LETTERS = [
    Letter(
        "TV-P7-0012", "Nguyễn Thị Lan", True, "Khóm 3", "Phường 7", deep_link("dt_bot", "K7Q2M9XZ")
    ),
    Letter(
        "TV-P7-0013", "Thạch Sa Rươne", False, "Khóm 4", "Phường 7", deep_link("dt_bot", "B3N8W2YJ")
    ),
    Letter("TV-P7-0014", "Lê Văn Bình", None, "", "Phường 7", deep_link("dt_bot", "H5D1F7GK")),
]


@pytest.fixture
def vi() -> Translator:
    return Translator("vi")


def _write(tmp_path: Path, t: Translator, dialogue=DIALOGUE, letters=LETTERS) -> Path:
    path = tmp_path / "giay-moi.docx"
    assert write_invitation_letters(path, dialogue, letters, t) == len(letters)
    return path


def _pages(path: Path) -> list[list]:
    """The body's paragraphs and tables, cut after each page break."""
    pages: list[list] = [[]]
    for block in Document(str(path)).element.body.iterchildren():
        if block.tag == qn("w:sectPr"):
            continue
        pages[-1].append(block)
        if block.tag == qn("w:p") and block.xpath('.//w:br[@w:type="page"]'):
            pages.append([])
    return pages


def _lines(blocks: list) -> list[str]:
    """The text of every paragraph, in tables too, in reading order."""
    paragraphs = [p for block in blocks for p in block.iter(qn("w:p"))]
    return ["".join(node.text or "" for node in p.iter(qn("w:t"))) for p in paragraphs]


def _text(blocks: list) -> str:
    return "\n".join(_lines(blocks))


def _is_qr_of(image: bytes, link: str, *, scale: int = 8) -> bool:
    """Whether `image` is a PNG that a reader decodes as `link` at level M, with the size the
    standard gives: the smallest version at level M (asked of segno, another encoder), a
    4-module quiet zone on every side, `scale` pixels a module."""
    assert image.startswith(PNG_SIGNATURE)
    picture = Image.open(io.BytesIO(image))
    modules = segno.make_qr(link, error="m", boost_error=False).symbol_size(scale=1, border=4)
    assert picture.size == (modules[0] * scale, modules[1] * scale)
    (found,) = zxingcpp.read_barcodes(picture.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return (found.text, found.ec_level) == (link, "M")


def test_three_letters_are_three_pages_separated_by_page_breaks(tmp_path, vi):
    pages = _pages(_write(tmp_path, vi))

    assert len(pages) == 3
    for letter, page in zip(LETTERS, pages, strict=True):
        text = _text(page)
        assert letter.head_name in text
        assert letter.household_code in text
        assert letter.link in text
        for other in LETTERS:
            if other is not letter:
                assert other.household_code not in text and other.link not in text


def test_each_letter_carries_a_qr_code_of_its_own_link(tmp_path, vi):
    path = _write(tmp_path, vi)
    document = Document(str(path))

    assert len(document.inline_shapes) == 3
    for letter, page in zip(LETTERS, _pages(path), strict=True):
        (blip,) = [rid for block in page for rid in block.xpath(".//a:blip/@r:embed")]
        image = document.part.related_parts[blip].blob
        assert _is_qr_of(image, letter.link) and image == qr_png(letter.link)
        (extent,) = [e for block in page for e in block.xpath(".//wp:extent")]
        assert int(extent.get("cx")) == int(extent.get("cy")) == Cm(3.5)


def test_every_run_and_style_is_in_times_new_roman(tmp_path, vi):
    document = Document(str(_write(tmp_path, vi)))
    styles = document.styles.element

    defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    all_fonts = [defaults.find(qn("w:rFonts")), *styles.iter(qn("w:rFonts"))]
    all_fonts += list(document.element.body.iter(qn("w:rFonts")))
    for fonts in all_fonts:
        for script in ("ascii", "hAnsi", "eastAsia", "cs"):
            assert fonts.get(qn(f"w:{script}")) == FONT
        assert not [name for name in fonts.attrib if "theme" in name.lower()]
    runs = list(document.element.body.iter(qn("w:r")))
    assert runs
    for run in runs:
        assert run.find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:ascii")) == FONT
    assert document.styles["Normal"].font.size == Pt(13)


def test_the_page_is_a4_with_the_margins_of_the_decree(tmp_path, vi):
    (section,) = Document(str(_write(tmp_path, vi))).sections

    def mm(length) -> float:  # Word stores twentieths of a point: 210 mm is 209.99
        return round(length.mm, 1)

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.bottom_margin)) == (20, 20)
    assert mm(section.left_margin) == 30
    assert 15 <= mm(section.right_margin) <= 20


def test_each_letter_opens_with_the_national_heading_and_the_decrees_date(tmp_path, vi):
    for page in _pages(_write(tmp_path, vi)):
        heading = page[0]
        assert heading.tag == qn("w:tbl")
        assert not heading.xpath('.//w:tblBorders/*[@w:val!="nil"]')  # no borders
        lines = _lines([heading])
        # Upper case as the decree wants, whatever case the settings gave.
        assert lines[:2] == ["UBND THÀNH PHỐ TRÀ VINH", "ỦY BAN NHÂN DÂN PHƯỜNG 7"]
        assert NATIONAL_NAME in lines and MOTTO in lines
        assert "Trà Vinh, ngày 05 tháng 02 năm 2026" in lines
        assert any("12/GM-UBND" in line for line in lines)
        text = _text(page)
        assert DIALOGUE.title in text
        assert DIALOGUE.when in text and DIALOGUE.venue in text
        assert DIALOGUE.signer_name in text and DIALOGUE.signer_title in text
        assert "- Tín dụng và vay vốn;" in text and "- Đất ở và nhà ở." in text


@pytest.mark.parametrize(
    ("day", "written"),
    [
        (date(2026, 2, 5), "Trà Vinh, ngày 05 tháng 02 năm 2026"),
        (date(2026, 1, 1), "Trà Vinh, ngày 01 tháng 01 năm 2026"),
        (date(2026, 3, 9), "Trà Vinh, ngày 09 tháng 3 năm 2026"),
        (date(2023, 4, 26), "Trà Vinh, ngày 26 tháng 4 năm 2023"),
        (date(2026, 11, 22), "Trà Vinh, ngày 22 tháng 11 năm 2026"),
    ],
)
def test_the_date_line_puts_a_zero_before_days_under_ten_and_months_one_and_two(day, written):
    assert issued_on_line("Trà Vinh", day, Translator("vi")) == written


def test_each_head_of_household_is_addressed_by_the_salutation_of_their_gender(tmp_path, vi):
    pages = _pages(_write(tmp_path, vi))

    for letter, page in zip(LETTERS, pages, strict=True):
        salutation = vi._(SALUTATIONS[letter.female])
        addressee = vi._("To: {salutation} {name}").format(
            salutation=salutation, name=letter.head_name
        )
        assert addressee in _lines(page)
    assert len({vi._(s) for s in SALUTATIONS.values()}) == 3


def test_a_vietnamese_letter_reads_as_a_giay_moi_to_ba_ong_or_ong_ba(tmp_path, vi):
    pages = _pages(_write(tmp_path, vi))

    lines = _lines(pages[0])
    assert "Số: 12/GM-UBND" in lines
    assert "GIẤY MỜI" in lines
    assert "Kính gửi: Bà Nguyễn Thị Lan" in lines  # a female head of household
    assert "Kính gửi: Ông Thạch Sa Rươne" in _lines(pages[1])
    assert "Kính gửi: Ông/Bà Lê Văn Bình" in _lines(pages[2])  # gender not known
    assert "Địa chỉ: Khóm 3, Phường 7" in lines
    assert "Mã hộ: TV-P7-0012" in lines
    assert any(line.startswith("Trân trọng kính mời Bà Nguyễn Thị Lan") for line in lines)
    assert "Thời gian: 08:00, Thứ Tư, 02/12/2026" in lines
    assert any("ẩn danh" in line and "Thứ Sáu, 27/11/2026" in line for line in lines)
    signature = pages[0][-2]  # the last table: recipients, then the signer
    assert _lines([signature]) == [
        "Nơi nhận:",
        "- Như trên;",
        "- Lưu: VT.",
        "TM. ỦY BAN NHÂN DÂN",
        "CHỦ TỊCH",
        "",  # the signature and the stamp
        "Nguyễn Thị Ngọc Nhi",
    ]


def test_an_english_letter_keeps_the_national_heading_and_writes_the_date_in_english(tmp_path):
    pages = _pages(_write(tmp_path, Translator("en")))

    lines = _lines(pages[0])
    assert NATIONAL_NAME in lines and MOTTO in lines  # never translated
    assert "Trà Vinh, 5 February 2026" in lines
    assert "No. 12/GM-UBND" in lines
    assert "INVITATION" in lines
    assert "To: Ms Nguyễn Thị Lan" in lines
    assert "To: Mr Thạch Sa Rươne" in _lines(pages[1])
    assert "To: Mr/Ms Lê Văn Bình" in _lines(pages[2])
    assert "Address: Khóm 3, Phường 7" in lines
    assert "Address: Phường 7" in _lines(pages[2])  # no hamlet, no stray comma
    assert "Household code: TV-P7-0012" in lines
    assert any(line.startswith("If you have questions") for line in lines)


def test_an_empty_list_writes_no_file_and_returns_zero(tmp_path, vi):
    path = tmp_path / "giay-moi.docx"

    assert write_invitation_letters(path, DIALOGUE, [], vi) == 0
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_name_typed_with_combining_marks_is_written_composed(tmp_path, vi):
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Lan")
    letters = [replace(LETTERS[0], head_name=decomposed)]

    text = _text(_pages(_write(tmp_path, vi, letters=letters))[0])

    assert "Nguyễn Thị Lan" in text
    assert decomposed not in text


def test_without_number_name_or_deadline_the_letter_leaves_room_to_write_them(tmp_path, vi):
    dialogue = replace(
        DIALOGUE, number="", signer_name="", superior="", question_deadline=None, topics=[]
    )
    (page,) = _pages(_write(tmp_path, vi, dialogue=dialogue, letters=LETTERS[:1]))
    lines = _lines(page)

    assert lines[0] == "ỦY BAN NHÂN DÂN PHƯỜNG 7"
    assert any(line.endswith("……………") for line in lines)  # the number, filled in by hand
    assert vi._("Topics:") not in lines
    assert "27/11/2026" not in "\n".join(lines)
    signature = page[-2]  # the last table; a 1-point paragraph ends the document
    assert signature.tag == qn("w:tbl")
    assert _lines([signature])[-1] == ""  # the signer's name, written by hand


def test_the_letters_replace_an_older_file_whole(tmp_path, vi):
    path = tmp_path / "giay-moi.docx"
    path.write_bytes(b"an older printing")

    write_invitation_letters(path, DIALOGUE, LETTERS[:1], vi)

    assert len(_pages(path)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["giay-moi.docx"]  # no temporary left


def test_the_deep_link_opens_the_bot_with_the_code():
    assert deep_link("doithoai_bot", "K7Q2M9XZ") == "https://t.me/doithoai_bot?start=K7Q2M9XZ"
    assert deep_link("@doithoai_bot", "K7Q2M9XZ") == "https://t.me/doithoai_bot?start=K7Q2M9XZ"
    for code in ("", "has space", "x" * 65, "a+b"):
        with pytest.raises(ValueError):
            deep_link("doithoai_bot", code)


def test_the_qr_code_is_a_png_at_error_level_m_and_grows_with_the_scale():
    link = deep_link("doithoai_bot", "K7Q2M9XZ")

    small, large = qr_png(link, scale=2), qr_png(link)
    assert small.startswith(PNG_SIGNATURE) and large.startswith(PNG_SIGNATURE)
    assert len(large) > len(small)
    assert _is_qr_of(small, link, scale=2) and _is_qr_of(large, link)


# --- the file as a word processor opens it ---------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# Fonts with Times New Roman's metrics: with another serif in its place the lines are longer
# and a page count says nothing about Word's.
SAME_METRICS = ("Times New Roman", "Liberation Serif", "Tinos", "TeX Gyre Termes")


def _times_or_same_metrics() -> bool:
    if shutil.which("fc-match") is None:
        return False
    found = subprocess.run(
        ["fc-match", "-f", "%{family}", FONT], capture_output=True, text=True, check=False
    ).stdout
    return any(family in found for family in SAME_METRICS)


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.fixture(scope="module")
def longest_letters_as_pdf(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The longest letters a ward could ask for (a two-line title, all ten topics, a long
    venue, a deputy signing), converted to PDF by LibreOffice once for the tests below."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("pdf")
    dialogue = replace(
        DIALOGUE,
        title="Đối thoại chính sách giảm nghèo năm 2026 trên địa bàn Phường 7, thành phố Trà Vinh",
        venue="Hội trường Ủy ban nhân dân Phường 7, số 12 đường Nguyễn Đáng, khóm 3, Phường 7",
        topics=[
            "Hỗ trợ sản xuất, đa dạng hóa sinh kế, nhân rộng mô hình giảm nghèo",
            "Tín dụng và vay vốn",
            "Giáo dục",
            "Y tế và bảo hiểm y tế",
            "Đất ở và nhà ở",
            "Điều tra, rà soát hộ nghèo, hộ cận nghèo",
            "Kế hoạch phát triển kinh tế - xã hội",
            "Phân bổ ngân sách xã",
            "Dân chủ ở cơ sở",
            "Quy ước, hương ước",
        ],
        signer_title="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
    )
    path = _write(folder, Translator("vi"), dialogue=dialogue)
    result = subprocess.run(
        [
            SOFFICE,
            # A profile of its own: a LibreOffice already open would take the job and return.
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
    return result, folder / "giay-moi.pdf"


def test_libreoffice_opens_the_letters_and_prints_them_to_pdf(longest_letters_as_pdf):
    result, pdf = longest_letters_as_pdf

    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(
    not _times_or_same_metrics(), reason="no Times New Roman nor a font with its metrics"
)
def test_each_letter_stays_on_its_page_even_with_every_topic(longest_letters_as_pdf):
    result, pdf = longest_letters_as_pdf

    assert result.returncode == 0, result.stderr
    assert _pdf_pages(pdf.read_bytes()) == len(LETTERS)
