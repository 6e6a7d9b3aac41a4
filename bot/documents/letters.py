"""Printed invitation letters (giấy mời) for households that have no linked chat.

The ward invites its households by letter (seed 004: "Invitations are by letter that gives the
place and time"); a household without a chat gets one on paper, with a QR code of its own deep
link so that scanning it opens the bot already linked to the household, where its questions can
be sent before the dialogue, anonymously if it wishes.

All the letters of one printing go into one DOCX, one letter per A4 page, laid out as Vietnamese
administrative documents are (Nghị định 30/2020/NĐ-CP, Phụ lục I): margins, Times New Roman,
the two-column heading with the national name and motto, the place-and-date line, the document
type and its subject, "Kính gửi", the body, "Nơi nhận" and the signature block. The ward prints
the file, signs and stamps each page, and hands the letters out.
"""

from __future__ import annotations

import io
import os
import string
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from babel.dates import format_date
from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Length, Pt

from bot.documents.qr import qr_png
from bot.i18n import N_

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    from bot.i18n import Translator

FONT = "Times New Roman"

# The national name and motto (quốc hiệu, tiêu ngữ) head every Vietnamese administrative
# document exactly so, whatever language the rest of the letter is in: they are never
# translated, so they do not go through the catalog.
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# The honorific before the head of household's name ("Bà", "Ông", "Ông/Bà" in Vietnamese).
SALUTATIONS: dict[bool | None, str] = {True: N_("Ms"), False: N_("Mr"), None: N_("Mr/Ms")}

# A4 and the margins of Nghị định 30/2020 (top and bottom 20-25 mm, left 30-35 mm, right
# 15-20 mm): the smallest allowed, so that a letter with a long list of topics still fits its
# page. The text is 21 - 3 - 1.5 = 16.5 cm wide.
PAGE_WIDTH, PAGE_HEIGHT = Cm(21), Cm(29.7)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Cm(2), Cm(2), Cm(3), Cm(1.5)
TEXT_WIDTH = Emu(PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT)
# The heading and the signature are two borderless columns: 7 cm holds "ỦY BAN NHÂN DÂN
# PHƯỜNG 7" in 12 pt bold on one line, 9.5 cm the national name in 12 pt bold (8.8 cm).
LEFT_COLUMN, RIGHT_COLUMN = Cm(7), Cm(9.5)
# How to send questions beside the QR code and its caption.
QUESTIONS_COLUMN, QR_COLUMN = Cm(12), Cm(4.5)
BODY_INDENT = Cm(1)  # the first line of a paragraph: 1-1.27 cm
DASH_HANG = Cm(0.5)  # the dash of a list item hangs in front of its text
TOPICS_IN_ONE_COLUMN = 5
CELL_MARGINS = Cm(0.19) * 2  # Word's default left + right cell margins

# Font sizes (points) the decree gives for each part of the document.
AGENCY_PT = 12  # the superior and the issuer: 12-13
NATIONAL_PT = 12  # the national name: 12-13 (13 would not fit its column)
MOTTO_PT = 13  # the motto: 13-14
NUMBER_PT = 13  # "Số:": 13
DATE_PT = 13  # the place and date: 13-14, italic
TITLE_PT = 14  # the document type and its subject: 13-14, bold
ADDRESSEE_PT = 14  # "Kính gửi": 14
BODY_PT = 13  # the body: 13-14
RECIPIENTS_LABEL_PT = 12  # "Nơi nhận:": 12, bold italic
RECIPIENTS_PT = 11  # its lines: 11
SIGNATURE_PT = 13  # authority, title and name of the signer: 13-14, bold
CAPTION_PT = 11
LINK_PT = 10

# The rule under the motto is exactly as long as the motto (the decree): "Độc lập - Tự do -
# Hạnh phúc" in 13 pt Times New Roman bold measures 5.6 cm.
MOTTO_RULE = Cm(5.6)
# Rules under the issuer and under the subject: 1/3 to 1/2 of the line above.
SHORT_RULE = Cm(2.5)
QR_SIZE = Cm(3.5)  # scans from a phone held at reading distance, leaves room for the text
SIGNATURE_SPACE = Cm(2.6)  # the signature and the red stamp go here

# A number is given to the letter when it is registered; without one, the clerk writes it in.
BLANK_NUMBER = "……………"

# What follows a table's borders and a paragraph's in the schema's order of their siblings.
_AFTER_CELL_MARGINS = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
_AFTER_TABLE_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", *_AFTER_CELL_MARGINS)
_AFTER_PARAGRAPH_BORDERS = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)

# Word's language tags, so that its spelling checker reads the letter in the right language.
_LANGUAGE_TAGS = {"vi": "vi-VN", "en": "en-GB"}


@dataclass(frozen=True)
class LetterDialogue:
    """What every letter of one dialogue says, and who issues and signs it."""

    title: str  # e.g. "Đối thoại chính sách giảm nghèo năm 2026"
    when: str  # already formatted, e.g. "08:00, Thứ Tư, 02/12/2026"
    venue: str
    topics: list[str]  # already translated topic names
    question_deadline: str | None  # formatted, or None: "before the dialogue"
    issuer: str  # the issuing body, e.g. "ỦY BAN NHÂN DÂN PHƯỜNG 7"
    superior: str  # the level above, e.g. "UBND THÀNH PHỐ TRÀ VINH"; "" for none
    place: str  # e.g. "Trà Vinh", for "Trà Vinh, ngày 22 tháng 11 năm 2026"
    issued_on: date
    number: str  # the document number, e.g. "12/GM-UBND"; "" leaves dots to fill in
    signer_title: str  # e.g. "CHỦ TỊCH"; a deputy writes "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH"
    signer_name: str  # "" leaves the space for a name written by hand


@dataclass(frozen=True)
class Letter:
    """One household's letter."""

    household_code: str
    head_name: str
    female: bool | None  # the head of household: "Bà" / "Ông" / "Ông/Bà" when unknown
    hamlet: str
    ward: str
    link: str  # the household's deep link, printed as a QR code and written out


def write_invitation_letters(
    path: Path, dialogue: LetterDialogue, letters: Sequence[Letter], t: Translator
) -> int:
    """Write one letter per household to the DOCX at `path`; returns the pages written.

    Each letter is one page: a two-line title, a two-line venue and all ten topics still fit
    (checked by rendering it with LibreOffice in the tests).

    An empty `letters` writes nothing, leaves `path` as it is and returns 0: there is nothing
    to print, and the caller says so rather than handing out an empty file. The file is written
    to a temporary name and renamed, so that `path` never holds half a document.
    """
    if not letters:
        return 0
    document = Document()
    _set_up(document, dialogue, t)
    for index, letter in enumerate(letters):
        _write_letter(document, dialogue, letter, t)
        if index < len(letters) - 1:
            _page_break(document)
        else:
            # Word wants a paragraph after a table that ends the document and adds one itself
            # if there is none; a 1-point one cannot push a full page onto a blank next page.
            _tiny_paragraph(document)
    _save(document, path)
    return len(letters)


def issued_on_line(place: str, day: date, t: Translator) -> str:
    """The place and date under the motto: "Trà Vinh, ngày 05 tháng 02 năm 2026".

    The Vietnamese formula is the decree's, not a catalog text: a zero before days 1-9 and
    months 1-2 (so that nobody can add a digit in front), no zero before months 3-9. Other
    languages write the date as people there write it in a letter.
    """
    if t.locale == "vi":
        month = f"{day.month:02d}" if day.month < 3 else str(day.month)
        written = f"ngày {day.day:02d} tháng {month} năm {day.year}"
    else:
        written = format_date(day, "d MMMM yyyy", locale=t.locale)
    return f"{place}, {written}" if place else written


# --- the letter ------------------------------------------------------------------------------


def _write_letter(
    document: DocxDocument, dialogue: LetterDialogue, letter: Letter, t: Translator
) -> None:
    _heading(document, dialogue, t)
    salutation = t._(SALUTATIONS[letter.female])

    title = _paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, before=12)
    _run(title, t._("INVITATION"), size=TITLE_PT, bold=True)
    subject = _paragraph(document, WD_ALIGN_PARAGRAPH.CENTER)
    _run(subject, dialogue.title, size=TITLE_PT, bold=True)
    _rule(document, SHORT_RULE, TEXT_WIDTH)

    addressee = _paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, before=8)
    _fill(
        addressee,
        t._("To: {salutation} {name}"),
        size=ADDRESSEE_PT,
        bold_values=True,
        salutation=salutation,
        name=letter.head_name,
    )
    address = ", ".join(part for part in (letter.hamlet, letter.ward) if part)
    if address:
        _fill(
            _paragraph(document, WD_ALIGN_PARAGRAPH.CENTER),
            t._("Address: {address}"),
            size=BODY_PT,
            address=address,
        )
    _fill(
        _paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, after=6),
        t._("Household code: {code}"),
        size=BODY_PT,
        bold_values=True,
        code=letter.household_code,
    )

    _body(
        document,
        t._(
            "{salutation} {name} is respectfully invited to attend the dialogue between the "
            "local government and the people, as follows:"
        ),
        salutation=salutation,
        name=letter.head_name,
    )
    # The labels are bold and the data plain, as in the ward's own letters.
    _body(document, t._("Time: {when}"), bold_text=True, when=dialogue.when)
    _body(document, t._("Venue: {venue}"), bold_text=True, venue=dialogue.venue)
    if dialogue.topics:
        _body(document, t._("Topics:"), bold_text=True, after=0)
        _topics(document, dialogue.topics)
    if dialogue.question_deadline:
        questions = t._(
            "If you have questions or concerns about these topics, please send them before "
            "{deadline}, with your name or anonymously as you prefer: scan the QR code with a "
            "phone, open the link written under it, or hand them in at the office of the "
            "People's Committee of {ward}."
        )
    else:
        questions = t._(
            "If you have questions or concerns about these topics, please send them before the "
            "dialogue, with your name or anonymously as you prefer: scan the QR code with a "
            "phone, open the link written under it, or hand them in at the office of the "
            "People's Committee of {ward}."
        )
    _questions(document, questions, letter, dialogue, t)
    _signature(document, dialogue, t)


def _heading(document: DocxDocument, dialogue: LetterDialogue, t: Translator) -> None:
    """The two borderless columns: who issues the letter, and the national name and motto;
    below them the number on the left and the place and date on the right."""
    table = _table(document, rows=2)
    issuer, nation = table.rows[0].cells
    if dialogue.superior:
        _run(_paragraph(issuer), dialogue.superior.upper(), size=AGENCY_PT)
    _run(_paragraph(issuer), dialogue.issuer.upper(), size=AGENCY_PT, bold=True)
    _rule(issuer, SHORT_RULE, LEFT_COLUMN - CELL_MARGINS)
    _run(_paragraph(nation), NATIONAL_NAME, size=NATIONAL_PT, bold=True)
    _run(_paragraph(nation), MOTTO, size=MOTTO_PT, bold=True)
    _rule(nation, MOTTO_RULE, RIGHT_COLUMN - CELL_MARGINS)

    number, dated = table.rows[1].cells
    _fill(
        _paragraph(number, before=6),
        t._("No. {number}"),
        size=NUMBER_PT,
        number=dialogue.number or BLANK_NUMBER,
    )
    _run(
        _paragraph(dated, before=6),
        issued_on_line(dialogue.place, dialogue.issued_on, t),
        size=DATE_PT,
        italic=True,
    )


def _topics(document: DocxDocument, topics: Sequence[str]) -> None:
    """The topics as administrative documents list things: a dash before each, ";" after each
    but the last, "." after it. More than five go in two columns, down the first and then
    down the second, so that a dialogue on all ten topics still fits its page."""
    items = [
        f"- {topic.strip().rstrip('.;')}{'.' if number == len(topics) else ';'}"
        for number, topic in enumerate(topics, start=1)
    ]
    if len(items) <= TOPICS_IN_ONE_COLUMN:
        columns: list[tuple[DocxDocument | _Cell, list[str], Length]] = [
            (document, items, BODY_INDENT)
        ]
    else:
        table = _table(document, rows=1, widths=(Emu(TEXT_WIDTH // 2),) * 2, margins=False)
        first, second = table.rows[0].cells
        half = (len(items) + 1) // 2
        columns = [(first, items[:half], BODY_INDENT), (second, items[half:], Cm(0))]
    for container, column, indent in columns:
        for item in column:
            paragraph = _paragraph(container, WD_ALIGN_PARAGRAPH.LEFT)
            # The dash hangs in the indent of the body's first lines; a long topic wraps under
            # its own text.
            paragraph.paragraph_format.left_indent = Emu(indent + DASH_HANG)
            paragraph.paragraph_format.first_line_indent = Emu(-DASH_HANG)
            _run(paragraph, item, size=BODY_PT)
    _spacer(document, 6)


def _questions(
    document: DocxDocument, text: str, letter: Letter, dialogue: LetterDialogue, t: Translator
) -> None:
    """How to send questions, with the QR code and its caption beside it and the link written
    out under it. Side by side they take about 2 cm less than one under the other: enough for
    a two-line title and all ten topics to stay on one page."""
    table = _table(document, rows=1, widths=(QUESTIONS_COLUMN, QR_COLUMN), margins=False)
    words, code = table.rows[0].cells
    _body(words, text, deadline=dialogue.question_deadline or "", ward=letter.ward)
    # The closing formula ends the text; the caption and the link are the code's, not the text.
    _body(words, t._("We look forward to welcoming you."), after=0)
    run = _run(_paragraph(code), "", size=BODY_PT)
    run.add_picture(io.BytesIO(qr_png(letter.link)), width=QR_SIZE, height=QR_SIZE)
    caption = t._("Scan to send a question, anonymously if you wish")
    _run(_paragraph(code), caption, size=CAPTION_PT, italic=True)
    # Written out for a phone that cannot scan, or to type into a computer; right-aligned, so
    # that it ends under the code.
    link = _paragraph(document, WD_ALIGN_PARAGRAPH.RIGHT, after=4)
    _run(link, letter.link, size=LINK_PT)


def _signature(document: DocxDocument, dialogue: LetterDialogue, t: Translator) -> None:
    """The recipients ("Nơi nhận") on the left, small; on the right the signer's authority,
    title and name, with room between them for the signature and the stamp."""
    table = _table(document, rows=1)
    recipients, signer = table.rows[0].cells
    label = _paragraph(recipients, WD_ALIGN_PARAGRAPH.LEFT, before=6)
    _run(label, t._("Recipients:"), size=RECIPIENTS_LABEL_PT, bold=True, italic=True)
    for line in (t._("- As above;"), t._("- Filed: Records Office.")):
        _run(_paragraph(recipients, WD_ALIGN_PARAGRAPH.LEFT), line, size=RECIPIENTS_PT)

    lines = [t._("ON BEHALF OF THE PEOPLE'S COMMITTEE")]
    lines += [line.strip().upper() for line in dialogue.signer_title.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        paragraph = _paragraph(signer, before=6 if index == 0 else 0)
        _run(paragraph, line, size=SIGNATURE_PT, bold=True)
    space = _paragraph(signer, after=0)
    space.paragraph_format.line_spacing = SIGNATURE_SPACE  # exact height for signature and stamp
    _run(_paragraph(signer), dialogue.signer_name, size=SIGNATURE_PT, bold=True)


# --- building blocks -------------------------------------------------------------------------


def _set_up(document: DocxDocument, dialogue: LetterDialogue, t: Translator) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    section.header_distance = section.footer_distance = Cm(1)

    styles = document.styles.element
    # Every font reference of the template becomes Times New Roman: the theme fonts it names
    # (Calibri, Cambria) would win over an explicit name wherever both are given.
    for fonts in styles.iter(qn("w:rFonts")):
        _times(fonts)
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
    _times(_child(properties, "w:rFonts", first=True))
    language = _child(properties, "w:lang")
    tag = _LANGUAGE_TAGS.get(t.locale, t.locale)
    language.set(qn("w:val"), tag)
    language.set(qn("w:eastAsia"), tag)

    normal = document.styles["Normal"]
    _times(normal.element.get_or_add_rPr().get_or_add_rFonts())
    normal.font.size = Pt(BODY_PT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0  # single: the decree's minimum
    normal.paragraph_format.widow_control = True

    properties = document.core_properties
    properties.title = _nfc(f"{t._('INVITATION')}: {dialogue.title}")
    properties.author = properties.last_modified_by = _nfc(dialogue.issuer)
    properties.subject = properties.keywords = properties.comments = ""
    properties.created = properties.modified = datetime.now(UTC).replace(microsecond=0)
    properties.revision = 1
    properties.language = tag


def _table(
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
    table = document.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    properties = table._tbl.tblPr
    width = _child(properties, "w:tblW")  # the template's is "auto", which Word may stretch
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(sum(Emu(w).twips for w in widths)))
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{edge}")
        border.set(qn("w:val"), "nil")
        borders.append(border)
    # Word refuses a file whose elements are out of the schema's order.
    properties.insert_element_before(borders, *_AFTER_TABLE_BORDERS)
    if not margins:
        cell_margins = OxmlElement("w:tblCellMar")
        for edge in ("left", "right"):
            margin = OxmlElement(f"w:{edge}")
            margin.set(qn("w:w"), "0")
            margin.set(qn("w:type"), "dxa")
            cell_margins.append(margin)
        properties.insert_element_before(cell_margins, *_AFTER_CELL_MARGINS)
    # LibreOffice lays the table out from the grid, Word from each cell's width: give both.
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
            # A new cell holds one empty paragraph; the content brings its own.
            for paragraph in cell.paragraphs:
                paragraph._p.getparent().remove(paragraph._p)
    return table


def _paragraph(
    container: DocxDocument | _Cell,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    *,
    before: float = 0,
    after: float = 0,
) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(after)
    return paragraph


def _body(
    container: DocxDocument | _Cell,
    template: str,
    *,
    bold_text: bool = False,
    after: float = 6,
    **values: str,
) -> Paragraph:
    """A paragraph of the body: justified, its first line indented 1 cm, 6 pt after (the
    decree's minimum spacing between paragraphs)."""
    paragraph = _paragraph(container, WD_ALIGN_PARAGRAPH.JUSTIFY, after=after)
    paragraph.paragraph_format.first_line_indent = BODY_INDENT
    _fill(paragraph, template, size=BODY_PT, bold_text=bold_text, **values)
    return paragraph


def _fill(
    paragraph: Paragraph,
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
            _run(paragraph, literal, size=size, bold=bold_text)
        if field is not None:
            value = formatter.convert_field(values[field], conversion)
            _run(paragraph, formatter.format_field(value, spec or ""), size=size, bold=bold_values)


def _run(paragraph: Paragraph, text: str, *, size: float, bold: bool = False, italic: bool = False):
    run = paragraph.add_run(_nfc(text))
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    # Named on the run too: some readers (and copy and paste into another document) ignore the
    # styles.
    _times(run._r.get_or_add_rPr().get_or_add_rFonts())
    return run


def _rule(container: DocxDocument | _Cell, length: Length, width: Length) -> None:
    """A centred horizontal rule `length` long: the bottom border of an empty 2-point paragraph
    indented from both sides, which Word and LibreOffice draw alike (a drawn line shape is
    placed differently by each)."""
    paragraph = container.add_paragraph()
    indent = Emu(max(0, (width - length) // 2))
    paragraph.paragraph_format.left_indent = indent
    paragraph.paragraph_format.right_indent = indent
    paragraph.paragraph_format.space_before = Pt(2)  # clear of the descenders above
    paragraph.paragraph_format.space_after = Pt(0)
    properties = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        bottom.set(qn(f"w:{name}"), value)
    borders.append(bottom)
    properties.insert_element_before(borders, *_AFTER_PARAGRAPH_BORDERS)
    _mark_size(paragraph, 2)


def _spacer(document: DocxDocument, points: float) -> None:
    """Space after a table, which has no spacing of its own: a 1-point paragraph with some."""
    paragraph = _tiny_paragraph(document)
    paragraph.paragraph_format.space_after = Pt(points)


def _page_break(document: DocxDocument) -> None:
    paragraph = _tiny_paragraph(document)
    run = _run(paragraph, "", size=1)  # its line stays on the page it ends: keep it low
    run.add_break(WD_BREAK.PAGE)


def _tiny_paragraph(document: DocxDocument) -> Paragraph:
    paragraph = _paragraph(document)
    _mark_size(paragraph, 1)
    return paragraph


def _mark_size(paragraph: Paragraph, points: int) -> None:
    """The size of the paragraph mark, which alone gives an empty paragraph its height."""
    properties = paragraph._p.get_or_add_pPr()
    mark = OxmlElement("w:rPr")
    _times(_child(mark, "w:rFonts"))
    for tag in ("w:sz", "w:szCs"):
        _child(mark, tag).set(qn("w:val"), str(points * 2))  # in half-points
    properties.insert_element_before(mark, "w:sectPr", "w:pPrChange")


def _times(fonts) -> None:
    """Times New Roman for Latin, East Asian and complex scripts alike, and no theme font:
    Word takes eastAsia or cs for some Vietnamese characters, and LibreOffice follows the
    theme attributes where they are present."""
    for script in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{script}"), FONT)
        fonts.attrib.pop(qn(f"w:{script}Theme"), None)
    fonts.attrib.pop(qn("w:cstheme"), None)  # the complex-script theme attribute's spelling
    fonts.attrib.pop(qn("w:hint"), None)


def _child(parent, tag: str, *, first: bool = False):
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


def _nfc(text: str) -> str:
    # Names from spreadsheets sometimes come decomposed (a letter, then its combining marks);
    # Word then stacks the marks badly in Times New Roman. Composed, every Vietnamese letter
    # is one character of the font.
    return unicodedata.normalize("NFC", text)


def _save(document: DocxDocument, path: Path) -> None:
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        document.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
