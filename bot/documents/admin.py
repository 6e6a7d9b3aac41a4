"""The Vietnamese administrative document format (Nghị định 30/2020/NĐ-CP, Phụ lục I), shared by
the printed documents: the A4 page and its margins, Times New Roman everywhere, the two-column
heading with the issuing body, the national name and motto, the number and the place-and-date
line, and the small building blocks (paragraphs, runs, borderless tables, rules) that lay them
out alike in Word and LibreOffice.
"""

from __future__ import annotations

import string
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from babel.dates import format_date
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Length, Pt

from bot.documents.files import write_atomically
from bot.documents.ooxml import (
    _AFTER_CELL_MARGINS,
    _AFTER_PARAGRAPH_BORDERS,
    _AFTER_TABLE_BORDERS,
    KHMER_TAG,
    child,
    has_khmer,
    khmer,
    khmer_font_table,
)

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

    from bot.core.i18n import Translator

FONT = "Times New Roman"

# The national name and motto (quốc hiệu, tiêu ngữ) head every Vietnamese administrative
# document exactly so, whatever language the rest of it is in: they are never translated, so
# they do not go through the catalog.
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# A4 and the margins of Nghị định 30/2020 (top and bottom 20-25 mm, left 30-35 mm, right
# 15-20 mm): the smallest allowed, so that a letter with a long list of topics still fits its
# page. The text is 21 - 3 - 1.5 = 16.5 cm wide.
PAGE_WIDTH, PAGE_HEIGHT = Cm(21), Cm(29.7)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Cm(2), Cm(2), Cm(3), Cm(1.5)
TEXT_WIDTH = Emu(PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT)
# The heading is two borderless columns: 7 cm holds "ỦY BAN NHÂN DÂN PHƯỜNG 7" in 12 pt bold
# on one line, 9.5 cm the national name in 12 pt bold (8.8 cm).
LEFT_COLUMN, RIGHT_COLUMN = Cm(7), Cm(9.5)
BODY_INDENT = Cm(1)  # the first line of a paragraph: 1-1.27 cm
CELL_MARGINS = Cm(0.19) * 2  # Word's default left + right cell margins

# Font sizes (points) the decree gives for each part of the document.
AGENCY_PT = 12  # the superior and the issuer: 12-13
NATIONAL_PT = 12  # the national name: 12-13
MOTTO_PT = 13  # the motto: 13-14
NUMBER_PT = 13  # "Số:": 13
DATE_PT = 13  # the place and date: 13-14, italic
TITLE_PT = 14  # the document type and its subject: 13-14, bold
BODY_PT = 13  # the body: 13-14
SIGNATURE_PT = 13  # authority, title and name of the signer: 13-14, bold
ADDRESSEE_PT = 14  # "Kính gửi": 14
RECIPIENTS_LABEL_PT = 12  # "Nơi nhận:": 12, bold italic
RECIPIENTS_PT = 11  # its lines: 11

# The rule under the motto is exactly as long as the motto (the decree): "Độc lập - Tự do -
# Hạnh phúc" in 13 pt Times New Roman bold measures 5.6 cm.
MOTTO_RULE = Cm(5.6)
# Rules under the issuer and under the subject: 1/3 to 1/2 of the line above.
SHORT_RULE = Cm(2.5)
SIGNATURE_SPACE = Cm(2.6)  # the signature and the red stamp go here

# A number is given to a document when it is registered; without one, the clerk writes it in.
BLANK_NUMBER = "……………"


# Word's language tags, so that its spelling checker reads the document in the right language.
_LANGUAGE_TAGS = {"vi": "vi-VN", "en": "en-GB", "km": KHMER_TAG}


def written_date(day: date, t: Translator) -> str:
    """A date as the decree writes it in a document: "ngày 05 tháng 02 năm 2026".

    The Vietnamese formula is the decree's, not a catalog text: a zero before days 1-9 and
    months 1-2 (so that nobody can add a digit in front), no zero before months 3-9. Other
    languages write the date as people there write it in a letter.
    """
    if t.locale == "vi":
        month = f"{day.month:02d}" if day.month < 3 else str(day.month)
        return f"ngày {day.day:02d} tháng {month} năm {day.year}"
    if t.locale == "km":
        # As Khmer letters write it: "ថ្ងៃទី05 ខែកុម្ភៈ ឆ្នាំ2026", with Babel's name of the month.
        month = format_date(day, "MMMM", locale="km")
        return f"ថ្ងៃទី{day.day:02d} ខែ{month} ឆ្នាំ{day.year}"
    return format_date(day, "d MMMM yyyy", locale=t.locale)


def issued_on_line(place: str, day: date, t: Translator) -> str:
    """The place and date under the motto: "Trà Vinh, ngày 05 tháng 02 năm 2026"."""
    written = written_date(day, t)
    return f"{place}, {written}" if place else written


def set_up(document: DocxDocument, *, title: str, author: str, t: Translator) -> None:
    """The page, Times New Roman in every style, single spacing, the language, and core
    properties that name the issuing body as the author (never a person)."""
    section = document.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    section.header_distance = section.footer_distance = Cm(1)

    styles = document.styles.element
    # Every font reference of the template becomes Times New Roman: the theme fonts it names
    # (Calibri, Cambria) would win over an explicit name wherever both are given.
    for fonts in styles.iter(qn("w:rFonts")):
        times(fonts)
    defaults = styles.find(qn("w:docDefaults"))
    assert defaults is not None  # python-docx's template has them
    run_defaults = defaults.find(qn("w:rPrDefault"))
    if run_defaults is None:
        run_defaults = OxmlElement("w:rPrDefault")
        defaults.insert(0, run_defaults)
    properties = run_defaults.find(qn("w:rPr"))
    if properties is None:
        properties = OxmlElement("w:rPr")
        run_defaults.append(properties)
    times(child(properties, "w:rFonts", first=True))
    language = child(properties, "w:lang")
    tag = _LANGUAGE_TAGS.get(t.locale, t.locale)
    language.set(qn("w:val"), tag)
    language.set(qn("w:eastAsia"), tag)
    # The language of complex-script text, which in these documents can only be Khmer.
    language.set(qn("w:bidi"), KHMER_TAG)
    khmer_font_table(document)

    normal = document.styles["Normal"]
    times(normal.element.get_or_add_rPr().get_or_add_rFonts())
    normal.font.size = Pt(BODY_PT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0  # single: the decree's minimum
    normal.paragraph_format.widow_control = True

    properties = document.core_properties
    properties.title = nfc(title)
    properties.author = properties.last_modified_by = nfc(author)
    properties.subject = properties.keywords = properties.comments = ""
    properties.created = properties.modified = datetime.now(UTC).replace(microsecond=0)
    properties.revision = 1
    properties.language = tag


def heading(
    document: DocxDocument,
    *,
    issuer: str,
    superior: str,
    number: str,
    place: str,
    day: date,
    t: Translator,
    widths: tuple[Length, Length] = (LEFT_COLUMN, RIGHT_COLUMN),
    name_pt: float = AGENCY_PT,
) -> Table:
    """The two borderless columns: who issues the document (under its superior, if given),
    and the national name and motto; below them the number on the left and the place and date
    on the right. `name_pt` is the size of the bodies' names and the national name (12-13)."""
    table = two_columns(document, rows=2, widths=widths)
    left, right = widths
    issuing, nation = table.rows[0].cells
    if superior:
        run(paragraph(issuing), superior.upper(), size=name_pt)
    run(paragraph(issuing), issuer.upper(), size=name_pt, bold=True)
    rule(issuing, SHORT_RULE, left - CELL_MARGINS)
    run(paragraph(nation), NATIONAL_NAME, size=name_pt, bold=True)
    run(paragraph(nation), MOTTO, size=MOTTO_PT, bold=True)
    rule(nation, MOTTO_RULE, right - CELL_MARGINS)

    numbered, dated = table.rows[1].cells
    fill(
        paragraph(numbered, before=6),
        t._("No. {number}"),
        size=NUMBER_PT,
        number=number or BLANK_NUMBER,
    )
    run(paragraph(dated, before=6), issued_on_line(place, day, t), size=DATE_PT, italic=True)
    return table


# --- building blocks -------------------------------------------------------------------------


def two_columns(
    document: DocxDocument,
    *,
    rows: int,
    widths: tuple[Length, Length] = (LEFT_COLUMN, RIGHT_COLUMN),
    margins: bool = True,
) -> Table:
    """Two columns without borders, fixed at the heading's widths unless told otherwise.

    Without `margins` the cells have no left and right margins, so that their text lines up
    with the body's; the heading and the signature keep Word's, as their text is centred.
    """
    return grid(document, rows=rows, widths=widths, borders=False, margins=margins)


def grid(
    document: DocxDocument,
    *,
    rows: int,
    widths: tuple[Length, ...],
    borders: bool,
    margins: bool = True,
) -> Table:
    """A table of fixed column widths, with single borders or none, its cells empty."""
    table = document.add_table(rows=rows, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    properties = table._tbl.tblPr
    width = child(properties, "w:tblW")  # the template's is "auto", which Word may stretch
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(sum(Emu(w).twips for w in widths)))
    edges = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{edge}")
        if borders:
            for name, value in (
                ("val", "single"),
                ("sz", "4"),
                ("space", "0"),
                ("color", "000000"),
            ):
                border.set(qn(f"w:{name}"), value)
        else:
            border.set(qn("w:val"), "nil")
        edges.append(border)
    # Word refuses a file whose elements are out of the schema's order.
    properties.insert_element_before(edges, *_AFTER_TABLE_BORDERS)
    if not margins:
        cell_margins = OxmlElement("w:tblCellMar")
        for edge in ("left", "right"):
            margin = OxmlElement(f"w:{edge}")
            margin.set(qn("w:w"), "0")
            margin.set(qn("w:type"), "dxa")
            cell_margins.append(margin)
        properties.insert_element_before(cell_margins, *_AFTER_CELL_MARGINS)
    # LibreOffice lays the table out from the grid, Word from each cell's width: give both.
    for column, column_width in zip(table.columns, widths, strict=True):
        column.width = column_width
        for cell in column.cells:
            cell.width = column_width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
            # A new cell holds one empty paragraph; the content brings its own.
            for empty in cell.paragraphs:
                empty._p.getparent().remove(empty._p)
    return table


def paragraph(
    container: DocxDocument | _Cell,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    *,
    before: float = 0,
    after: float = 0,
) -> Paragraph:
    added = container.add_paragraph()
    added.alignment = align
    added.paragraph_format.space_before = Pt(before)
    added.paragraph_format.space_after = Pt(after)
    return added


def body(
    container: DocxDocument | _Cell,
    template: str,
    *,
    bold_text: bool = False,
    after: float = 6,
    **values: str,
) -> Paragraph:
    """A paragraph of the body: justified, its first line indented 1 cm, 6 pt after (the
    decree's minimum spacing between paragraphs)."""
    added = paragraph(container, WD_ALIGN_PARAGRAPH.JUSTIFY, after=after)
    added.paragraph_format.first_line_indent = BODY_INDENT
    fill(added, template, size=BODY_PT, bold_text=bold_text, **values)
    return added


def fill(
    target: Paragraph,
    template: str,
    *,
    size: float,
    bold_text: bool = False,
    bold_values: bool = False,
    **values: str,
) -> None:
    """The translated `template` with its {placeholders} filled in: the same as .format(), but
    the fixed text and the data are separate runs, so that either can be bold."""
    formatter = string.Formatter()
    for literal, field, spec, conversion in formatter.parse(template):
        if literal:
            run(target, literal, size=size, bold=bold_text)
        if field is not None:
            value = formatter.convert_field(values[field], conversion)
            run(target, formatter.format_field(value, spec or ""), size=size, bold=bold_values)


def run(
    target: Paragraph, text: str, *, size: float, bold: bool = False, italic: bool = False
) -> Run:
    added = target.add_run(nfc(text))
    added.font.size = Pt(size)
    added.font.bold = bold
    added.font.italic = italic
    # Named on the run too: some readers (and copy and paste into another document) ignore the
    # styles.
    fonts = added._r.get_or_add_rPr().get_or_add_rFonts()
    times(fonts)
    if has_khmer(text):
        khmer(added, fonts, size=size, bold=bold, italic=italic)
    return added


def rule(container: DocxDocument | _Cell, length: Length, width: Length) -> None:
    """A centred horizontal rule `length` long: the bottom border of an empty 2-point paragraph
    indented from both sides, which Word and LibreOffice draw alike (a drawn line shape is
    placed differently by each)."""
    added = container.add_paragraph()
    indent = Emu(max(0, (width - length) // 2))
    added.paragraph_format.left_indent = indent
    added.paragraph_format.right_indent = indent
    added.paragraph_format.space_before = Pt(2)  # clear of the descenders above
    added.paragraph_format.space_after = Pt(0)
    properties = added._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        bottom.set(qn(f"w:{name}"), value)
    borders.append(bottom)
    properties.insert_element_before(borders, *_AFTER_PARAGRAPH_BORDERS)
    mark_size(added, 2)


def spacer(document: DocxDocument, points: float) -> None:
    """Space after a table, which has no spacing of its own: a 1-point paragraph with some."""
    added = tiny_paragraph(document)
    added.paragraph_format.space_after = Pt(points)


def page_break(document: DocxDocument) -> None:
    added = tiny_paragraph(document)
    breaking = run(added, "", size=1)  # its line stays on the page it ends: keep it low
    breaking.add_break(WD_BREAK.PAGE)


def tiny_paragraph(document: DocxDocument) -> Paragraph:
    added = paragraph(document)
    mark_size(added, 1)
    return added


def mark_size(target: Paragraph, points: int) -> None:
    """The size of the paragraph mark, which alone gives an empty paragraph its height."""
    properties = target._p.get_or_add_pPr()
    mark = OxmlElement("w:rPr")
    times(child(mark, "w:rFonts"))
    for tag in ("w:sz", "w:szCs"):
        child(mark, tag).set(qn("w:val"), str(points * 2))  # in half-points
    properties.insert_element_before(mark, "w:sectPr", "w:pPrChange")


def times(fonts) -> None:
    """Times New Roman for Latin, East Asian and complex scripts alike, and no theme font:
    Word takes eastAsia or cs for some Vietnamese characters, and LibreOffice follows the
    theme attributes where they are present."""
    for script in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{script}"), FONT)
        fonts.attrib.pop(qn(f"w:{script}Theme"), None)
    fonts.attrib.pop(qn("w:cstheme"), None)  # the complex-script theme attribute's spelling
    fonts.attrib.pop(qn("w:hint"), None)


def nfc(text: str) -> str:
    # Names from spreadsheets sometimes come decomposed (a letter, then its combining marks);
    # Word then stacks the marks badly in Times New Roman. Composed, every Vietnamese letter
    # is one character of the font.
    return unicodedata.normalize("NFC", text)


def save(document: DocxDocument, path: Path) -> None:
    """Write to a temporary name beside `path` and rename, so that `path` never holds half a
    document; only ever over a regular file (bot.documents.files)."""
    write_atomically(path, document.save)
