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

A household whose registry row says Khmer gets the letter in Vietnamese and, on the next page,
the same letter in Khmer (print it on the back): the Vietnamese one is the document of record,
the Khmer one lets an elder who reads only Khmer know what it says. The national name and motto
head both, untranslated, as on every Vietnamese administrative document.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Length

from bot.core.i18n import N_, Translator
from bot.documents import admin
from bot.documents.admin import (
    ADDRESSEE_PT,
    BODY_INDENT,
    BODY_PT,
    MOTTO,
    NATIONAL_NAME,
    RECIPIENTS_LABEL_PT,
    RECIPIENTS_PT,
    SHORT_RULE,
    SIGNATURE_PT,
    SIGNATURE_SPACE,
    TEXT_WIDTH,
    TITLE_PT,
    issued_on_line,
)
from bot.documents.qr import qr_png

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import _Cell


# Kept importable from here: the letters' tests and older callers read them from this module.
__all__ = [
    "MOTTO",
    "NATIONAL_NAME",
    "SALUTATIONS",
    "Letter",
    "LetterDialogue",
    "issued_on_line",
    "write_invitation_letters",
]

# The honorific before the head of household's name ("Bà", "Ông", "Ông/Bà" in Vietnamese).
SALUTATIONS: dict[bool | None, str] = {True: N_("Ms"), False: N_("Mr"), None: N_("Mr/Ms")}

# How to send questions beside the QR code and its caption.
QUESTIONS_COLUMN, QR_COLUMN = Cm(12), Cm(4.5)
DASH_HANG = Cm(0.5)  # the dash of a list item hangs in front of its text
TOPICS_IN_ONE_COLUMN = 5

# Font sizes (points) of the QR code's caption and link, which the decree does not size (the
# sizes it gives, a letter's "Kính gửi" and "Nơi nhận" among them: admin).
CAPTION_PT = 11
LINK_PT = 10

QR_SIZE = Cm(3.5)  # scans from a phone held at reading distance, leaves room for the text


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
    # The same dialogue's words in Khmer, for the Khmer page of Khmer households' letters.
    khmer: LetterDialogue | None = None


@dataclass(frozen=True)
class Letter:
    """One household's letter."""

    household_code: str
    head_name: str
    female: bool | None  # the head of household: "Bà" / "Ông" / "Ông/Bà" when unknown
    hamlet: str
    ward: str
    link: str  # the household's deep link, printed as a QR code and written out
    khmer: bool = False  # the registry says Khmer: the letter is followed by its Khmer page


def write_invitation_letters(
    path: Path, dialogue: LetterDialogue, letters: Sequence[Letter], t: Translator
) -> int:
    """Write one letter per household to the DOCX at `path`; returns the letters written.

    Each letter is one page (a Khmer household's two: Vietnamese, then Khmer): a two-line title, a two-line venue and all ten topics still fit
    (checked by rendering it with LibreOffice in the tests).

    An empty `letters` writes nothing, leaves `path` as it is and returns 0: there is nothing
    to print, and the caller says so rather than handing out an empty file. The file is written
    to a temporary name and renamed, so that `path` never holds half a document.
    """
    if not letters:
        return 0
    document = Document()
    admin.set_up(
        document, title=f"{t._('INVITATION')}: {dialogue.title}", author=dialogue.issuer, t=t
    )
    in_khmer = Translator("km", t.zone)
    copies = _Copies(document)
    for index, letter in enumerate(letters):
        copies.write(dialogue, letter, t)
        if letter.khmer and dialogue.khmer is not None and t.locale != "km":
            admin.page_break(document)
            copies.write(dialogue.khmer, letter, in_khmer)
        if index < len(letters) - 1:
            admin.page_break(document)
        else:
            # Word wants a paragraph after a table that ends the document and adds one itself
            # if there is none; a 1-point one cannot push a full page onto a blank next page.
            admin.tiny_paragraph(document)
    admin.save(document, path)
    return len(letters)


# --- one letter built, copied for each household ----------------------------------------------

# Building a letter through python-docx takes tens of milliseconds (thousands of elements, each
# placed in schema order); copying its XML takes well under one. So each letter's words are
# laid out once per language, with a mark in each field that differs between households, and
# that layout is copied for each household with the fields filled in and a QR code of its own.
_MARK = "\ue000"  # a private-use character: in no name, code, address or link


def _field(name: str) -> str:
    return f"{_MARK}{name}{_MARK}"


_TEMPLATE = Letter(
    household_code=_field("code"),
    head_name=_field("name"),
    female=None,
    hamlet=_field("hamlet"),
    ward=_field("ward"),
    link=_field("link"),
)
_ADDRESS = f"{_field('hamlet')}, {_field('ward')}"  # how _write_letter joins them
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class _Copies:
    """Writes letters into `document` by copying one laid-out letter per language, or by
    building a letter whose fields the copy could not carry the same (Khmer letters in a
    name: their runs take the Khmer font)."""

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self.templates: dict[tuple[int, str, str], list[Any] | None] = {}
        self.images: dict[str, str] = {}  # link -> the relationship of its QR code's image
        self.shape_id = 0

    def write(self, dialogue: LetterDialogue, letter: Letter, t: Translator) -> None:
        values = _values(letter, t)
        # A Khmer salutation needs runs in the Khmer font, which a mark in a Latin run cannot
        # become: the Khmer page's layout is made with the salutation itself (three at most).
        salutation = values.pop(_field("salutation"))
        fixed = salutation if admin.has_khmer(salutation) else ""
        if not fixed:
            values[_field("salutation")] = salutation
        template = self._template(dialogue, t, fixed)
        if template is None or any(admin.has_khmer(v) for v in values.values()):
            _write_letter(self.document, dialogue, letter, t)
            return
        end = self.document.element.body[-1]  # the section's properties stay last
        rid = self._image(letter.link)
        for element in template:
            copy = deepcopy(element)
            _fill(copy, values, letter)
            for blip in copy.iter(qn("a:blip")):
                blip.set(qn("r:embed"), rid)
            for shape in copy.iter(qn("wp:docPr")):
                self.shape_id += 1
                shape.set("id", str(self.shape_id))
                shape.set("name", f"Picture {self.shape_id}")
            end.addprevious(copy)

    def _image(self, link: str) -> str:
        # A Khmer household's two pages carry one code: it is drawn (the slow part) once.
        if link not in self.images:
            rid, _image = self.document.part.get_or_add_image(io.BytesIO(qr_png(link)))
            self.images[link] = rid
        return self.images[link]

    def _template(
        self, dialogue: LetterDialogue, t: Translator, salutation: str
    ) -> list[Any] | None:
        key = (id(dialogue), t.locale, salutation)
        if key not in self.templates:
            self.templates[key] = self._lay_out(dialogue, t, salutation or _field("salutation"))
        return self.templates[key]

    def _lay_out(
        self, dialogue: LetterDialogue, t: Translator, salutation: str
    ) -> list[Any] | None:
        """The letter with marks for its fields, taken out of the document (None when a field
        does not come out as the text of one run: then each letter is built)."""
        body = self.document.element.body
        count = len(body)  # the section's properties last: the letter goes in before them
        _write_letter(self.document, dialogue, _TEMPLATE, t, salutation=salutation)
        template = list(body)[count - 1 : -1]
        for element in template:
            body.remove(element)
        for blip in (blip for element in template for blip in element.iter(qn("a:blip"))):
            self.document.part.drop_rel(blip.get(qn("r:embed")))
        used = [int(i) for i in body.xpath("//wp:docPr/@id")]
        self.shape_id = max([self.shape_id, *used])
        texts = [text.text or "" for element in template for text in element.iter(qn("w:t"))]
        marked = [text for text in texts if _MARK in text]
        known = {_field(name) for name in ("code", "name", "salutation", "ward", "link")}
        if not all(text in known or text == _ADDRESS for text in marked):
            return None
        return template


def _values(letter: Letter, t: Translator) -> dict[str, str]:
    return {
        _field("code"): admin.nfc(letter.household_code),
        _field("name"): admin.nfc(letter.head_name),
        _field("salutation"): admin.nfc(t._(SALUTATIONS[letter.female])),
        _field("ward"): admin.nfc(letter.ward),
        _field("link"): admin.nfc(letter.link),
        _ADDRESS: admin.nfc(", ".join(part for part in (letter.hamlet, letter.ward) if part)),
    }


def _fill(element: Any, values: dict[str, str], letter: Letter) -> None:
    """The household's values in place of the marks; the address line left out when the
    household has none, as _write_letter leaves it out."""
    for text in list(element.iter(qn("w:t"))):
        if text.text not in values:
            continue
        value = values[text.text]
        if text.text == _ADDRESS and not value:
            paragraph = next(text.iterancestors(qn("w:p")))
            paragraph.getparent().remove(paragraph)
            continue
        text.text = value
        if value != value.strip():
            text.set(_XML_SPACE, "preserve")


# --- the letter ------------------------------------------------------------------------------


def _write_letter(
    document: DocxDocument,
    dialogue: LetterDialogue,
    letter: Letter,
    t: Translator,
    *,
    salutation: str | None = None,
) -> None:
    admin.heading(
        document,
        issuer=dialogue.issuer,
        superior=dialogue.superior,
        number=dialogue.number,
        place=dialogue.place,
        day=dialogue.issued_on,
        t=t,
    )
    if salutation is None:
        salutation = t._(SALUTATIONS[letter.female])

    _letter_title_and_addressee(document, dialogue, letter, salutation, t)

    admin.body(
        document,
        t._(
            "{salutation} {name} is respectfully invited to attend the dialogue between the "
            "local government and the people, as follows:"
        ),
        salutation=salutation,
        name=letter.head_name,
    )
    # The labels are bold and the data plain, as in the ward's own letters.
    admin.body(document, t._("Time: {when}"), bold_text=True, when=dialogue.when)
    admin.body(document, t._("Venue: {venue}"), bold_text=True, venue=dialogue.venue)
    if dialogue.topics:
        admin.body(document, t._("Topics:"), bold_text=True, after=0)
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


def _letter_title_and_addressee(
    document: DocxDocument,
    dialogue: LetterDialogue,
    letter: Letter,
    salutation: str,
    t: Translator,
) -> None:
    """The letter's title and subject, then to whom it goes: name, address, household code."""
    title = admin.paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, before=12)
    admin.run(title, t._("INVITATION"), size=TITLE_PT, bold=True)
    subject = admin.paragraph(document, WD_ALIGN_PARAGRAPH.CENTER)
    admin.run(subject, dialogue.title, size=TITLE_PT, bold=True)
    admin.rule(document, SHORT_RULE, TEXT_WIDTH)

    addressee = admin.paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, before=8)
    admin.fill(
        addressee,
        t._("To: {salutation} {name}"),
        size=ADDRESSEE_PT,
        bold_values=True,
        salutation=salutation,
        name=letter.head_name,
    )
    address = ", ".join(part for part in (letter.hamlet, letter.ward) if part)
    if address:
        admin.fill(
            admin.paragraph(document, WD_ALIGN_PARAGRAPH.CENTER),
            t._("Address: {address}"),
            size=BODY_PT,
            address=address,
        )
    admin.fill(
        admin.paragraph(document, WD_ALIGN_PARAGRAPH.CENTER, after=6),
        t._("Household code: {code}"),
        size=BODY_PT,
        bold_values=True,
        code=letter.household_code,
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
        table = admin.two_columns(
            document, rows=1, widths=(Emu(TEXT_WIDTH // 2),) * 2, margins=False
        )
        first, second = table.rows[0].cells
        half = (len(items) + 1) // 2
        columns = [(first, items[:half], BODY_INDENT), (second, items[half:], Cm(0))]
    for container, column, indent in columns:
        for item in column:
            paragraph = admin.paragraph(container, WD_ALIGN_PARAGRAPH.LEFT)
            # The dash hangs in the indent of the body's first lines; a long topic wraps under
            # its own text.
            paragraph.paragraph_format.left_indent = Emu(indent + DASH_HANG)
            paragraph.paragraph_format.first_line_indent = Emu(-DASH_HANG)
            admin.run(paragraph, item, size=BODY_PT)
    admin.spacer(document, 6)


def _questions(
    document: DocxDocument, text: str, letter: Letter, dialogue: LetterDialogue, t: Translator
) -> None:
    """How to send questions, with the QR code and its caption beside it and the link written
    out under it. Side by side they take about 2 cm less than one under the other: enough for
    a two-line title and all ten topics to stay on one page."""
    table = admin.two_columns(document, rows=1, widths=(QUESTIONS_COLUMN, QR_COLUMN), margins=False)
    words, code = table.rows[0].cells
    admin.body(words, text, deadline=dialogue.question_deadline or "", ward=letter.ward)
    # The closing formula ends the text; the caption and the link are the code's, not the text.
    admin.body(words, t._("We look forward to welcoming you."), after=0)
    run = admin.run(admin.paragraph(code), "", size=BODY_PT)
    run.add_picture(io.BytesIO(qr_png(letter.link)), width=QR_SIZE, height=QR_SIZE)
    caption = t._("Scan to send a question, anonymously if you wish")
    admin.run(admin.paragraph(code), caption, size=CAPTION_PT, italic=True)
    # Written out for a phone that cannot scan, or to type into a computer; right-aligned, so
    # that it ends under the code.
    link = admin.paragraph(document, WD_ALIGN_PARAGRAPH.RIGHT, after=4)
    admin.run(link, letter.link, size=LINK_PT)


def _signature(document: DocxDocument, dialogue: LetterDialogue, t: Translator) -> None:
    """The recipients ("Nơi nhận") on the left, small; on the right the signer's authority,
    title and name, with room between them for the signature and the stamp."""
    table = admin.two_columns(document, rows=1)
    recipients, signer = table.rows[0].cells
    label = admin.paragraph(recipients, WD_ALIGN_PARAGRAPH.LEFT, before=6)
    admin.run(label, t._("Recipients:"), size=RECIPIENTS_LABEL_PT, bold=True, italic=True)
    for line in (t._("- As above;"), t._("- Filed: Records Office.")):
        admin.run(admin.paragraph(recipients, WD_ALIGN_PARAGRAPH.LEFT), line, size=RECIPIENTS_PT)

    lines = [t._("ON BEHALF OF THE PEOPLE'S COMMITTEE")]
    lines += [line.strip().upper() for line in dialogue.signer_title.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        paragraph = admin.paragraph(signer, before=6 if index == 0 else 0)
        admin.run(paragraph, line, size=SIGNATURE_PT, bold=True)
    space = admin.paragraph(signer, after=0)
    space.paragraph_format.line_spacing = SIGNATURE_SPACE  # exact height for signature and stamp
    admin.run(admin.paragraph(signer), dialogue.signer_name, size=SIGNATURE_PT, bold=True)
