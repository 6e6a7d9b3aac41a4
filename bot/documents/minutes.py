"""The minutes of a dialogue (biên bản đối thoại), as a DOCX in the administrative format.

Seed 000 names the outputs of a dialogue: the list of concerns the people raised, the
commitments of the government, and the minutes, which the Fatherland Front's representative
writes. These minutes hold all three: when and where, who chaired and who kept the record, the
households that took part by group (with women heads, ethnic minorities and poor or near-poor
households counted, as the plan's quotas ask), the officials, the concerns by topic, the
answers, a table of commitments, the questions forwarded to their agencies, and the signatures.

No citizen is named: an anonymous question leaves no trace of its asker, and a named one is
recorded by its text alone. A sensitive question is counted under its topic, its text (and
what answers or commits to it) left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu

from bot.core.i18n import N_
from bot.documents import admin
from bot.documents.admin import BODY_INDENT, BODY_PT, SHORT_RULE, TEXT_WIDTH, TITLE_PT
from bot.documents.exports import agency_name, topic_name
from storage.households import fold
from storage.reports import GROUPS, DialogueReport, ReportQuestion
from storage.topics import TOPICS

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import _Cell

    from bot.core.i18n import Translator

# Everything in 13 points (the decree allows 12-13 for the bodies' names and the national
# name, 13-14 for the rest); at 13 points the national name needs a wider right column than
# the letters' 12.
NAME_PT = 13
HEADING_COLUMNS = (Cm(6.3), Cm(10.2))
TABLE_PT = 13
# The commitments: STT, agency, content, deadline, responsible (16.5 cm, the text's width).
COMMITMENT_COLUMNS = (Cm(1.4), Cm(3.4), Cm(5.3), Cm(2.9), Cm(3.5))  # "STT" and a date fit
SIGNATURE_COLUMNS = (Emu(TEXT_WIDTH // 2),) * 2
DASH_HANG = Cm(0.5)  # the dash of a list item hangs in front of its text
# The invitation groups of a dialogue (storage.invitations).
GROUP_NAMES = {
    "priority": N_("Poor, near-poor, newly out of poverty"),
    "other": N_("Other households"),
}
# How titles that already name the document's subject begin (compared without diacritics).
DIALOGUE_WORDS = ("doi thoai", "dialogue", "policy dialogue")
# A name left to be written by hand.
BLANK_NAME = "…………………………"


@dataclass(frozen=True)
class MinutesHeading:
    """What the person writing the minutes gives: who issues them, their number, where, and
    who chaired and who kept the record."""

    body: str  # the issuing body, e.g. "Ủy ban MTTQ Việt Nam Phường 7"
    superior: str = ""  # the level above, e.g. "Ủy ban MTTQ Việt Nam thành phố Trà Vinh"
    number: str = ""  # e.g. "05/BB-MTTQ"; "" leaves dots to fill in
    place: str = ""  # e.g. "Phường 7", for "Phường 7, ngày 26 tháng 4 năm 2026"
    chair: str = ""  # "" leaves room for a name written by hand
    secretary: str = ""


@dataclass(frozen=True)
class MinutesSummary:
    questions: int  # concerns recorded
    answers: int
    commitments: int


def write_minutes(
    path: Path, report: DialogueReport, heading: MinutesHeading, t: Translator
) -> MinutesSummary:
    """Write the minutes of the dialogue of `report` to the DOCX at `path` (whole or not at
    all) and say how many concerns, answers and commitments they record."""
    dialogue = report.dialogue
    if dialogue.starts_at is None:
        raise ValueError("the general intake has no minutes")
    starts = t.local(dialogue.starts_at)
    ends = starts + timedelta(minutes=dialogue.duration_minutes)
    document = Document()
    admin.set_up(
        document,
        title=t._("Minutes of the dialogue: {title}").format(title=dialogue.title),
        author=heading.body,
        t=t,
    )
    admin.heading(
        document,
        issuer=heading.body,
        superior=heading.superior,
        number=heading.number,
        place=heading.place,
        day=starts.date(),
        t=t,
        widths=HEADING_COLUMNS,
        name_pt=NAME_PT,
    )
    title = admin.paragraph(document, before=12)
    admin.run(title, t._("MINUTES"), size=TITLE_PT, bold=True)
    subject = admin.paragraph(document)
    admin.run(subject, _subject(dialogue.title, t), size=TITLE_PT, bold=True)
    admin.rule(document, SHORT_RULE, TEXT_WIDTH)
    admin.spacer(document, 6)

    _opening(document, report, heading, starts, ends, t)
    _participants(document, report, t)
    numbers = _concerns(document, report, t)
    answers = _answers(document, report, numbers, t)
    _commitments(document, report, t)
    _forwarded(document, report, numbers, t)
    admin.body(
        document,
        t._("The dialogue ended at {time} the same day."),
        time=_clock(ends, t),
    )
    _signatures(document, heading, t)
    # Word wants a paragraph after a table that ends the document.
    admin.tiny_paragraph(document)
    admin.save(document, path)
    return MinutesSummary(
        questions=len(numbers), answers=answers, commitments=len(report.commitments)
    )


# --- the parts -------------------------------------------------------------------------------


def _opening(
    document: DocxDocument,
    report: DialogueReport,
    heading: MinutesHeading,
    starts: datetime,
    ends: datetime,
    t: Translator,
) -> None:
    """When, where, who chaired and who kept the record; the labels bold, the data plain."""
    when = t._("from {start} to {end}, {date}").format(
        start=_clock(starts, t), end=_clock(ends, t), date=admin.written_date(starts.date(), t)
    )
    _field(document, t._("Time:"), when)
    _field(document, t._("Venue:"), report.dialogue.venue)
    _field(document, t._("Chair:"), heading.chair or BLANK_NAME)
    _field(document, t._("Secretary:"), heading.secretary or BLANK_NAME)


def _participants(document: DocxDocument, report: DialogueReport, t: Translator) -> None:
    """The households by group, with the counts the plan's quotas ask about, then the
    officials who answered or committed."""
    _label(document, t._("Participants:"), before=0)
    total = sum(group.households for group in report.participants)
    if report.attendance_recorded:
        intro = t.ngettext(
            "1. Households: {n} household took part (by the attendance record):",
            "1. Households: {n} households took part (by the attendance record):",
            total,
        )
    else:
        intro = t.ngettext(
            "1. Households: {n} household accepted the invitation (no attendance was recorded):",
            "1. Households: {n} households accepted the invitation (no attendance was recorded):",
            total,
        )
    admin.body(document, intro.format(n=total), after=0)
    by_group = {group.group: group for group in report.participants}
    lines = []
    for code in GROUPS:
        group = by_group[code]
        lines.append(
            _group_line(
                t._(GROUP_NAMES[code]),
                group.households,
                group.women,
                group.minorities,
                group.poor_or_near_poor,
                t,
            )
        )
    lines.append(
        _group_line(
            t._("Total"),
            total,
            sum(g.women for g in report.participants),
            sum(g.minorities for g in report.participants),
            sum(g.poor_or_near_poor for g in report.participants),
            t,
        )
    )
    _dashes(document, lines)

    admin.body(document, t._("2. Officials of the agencies:"), after=0)
    officials = [
        f"{official.name}, {agency_name(report, official.agency, t)}"
        if official.agency
        else official.name
        for official in report.officials
    ]
    _dashes(document, officials or [t._("none recorded")])


def _group_line(
    name: str, households: int, women: int, minorities: int, poor: int, t: Translator
) -> str:
    return t._(
        "{group}: {households} (women heads: {women}; ethnic minorities: {minorities}; "
        "poor or near-poor: {poor})"
    ).format(
        group=name,
        households=t.ngettext("{n} household", "{n} households", households).format(n=households),
        women=women,
        minorities=minorities,
        poor=poor,
    )


def _concerns(document: DocxDocument, report: DialogueReport, t: Translator) -> dict[str, int]:
    """I. The concerns raised, by topic, numbered through; returns each question's number.

    A question merged into another is not listed: its asker is counted with the one kept.
    """
    _label(document, t._("I. CONCERNS RAISED BY THE PEOPLE"))
    raised = report.raised
    if not raised:
        admin.body(document, t._("No question was raised."))
        return {}
    admin.body(
        document,
        t.ngettext(
            "{n} question was raised, by topic:",
            "{n} questions were raised, by topic:",
            len(raised),
        ).format(n=len(raised)),
        after=0,
    )
    numbers: dict[str, int] = {}
    for index, topic in enumerate(_topic_order(report, raised), start=1):
        questions = [q for q in raised if q.topic == topic]
        heading = admin.paragraph(document, WD_ALIGN_PARAGRAPH.JUSTIFY, before=3)
        heading.paragraph_format.first_line_indent = BODY_INDENT
        admin.run(
            heading,
            t._("{number}. {topic} ({count})").format(
                number=index,
                topic=topic_name(topic, t),
                count=t.ngettext("{n} question", "{n} questions", len(questions)).format(
                    n=len(questions)
                ),
            ),
            size=BODY_PT,
            bold=True,
        )
        lines = []
        for question in questions:
            numbers[question.id] = len(numbers) + 1
            line = t._("Question {number}: {text}").format(
                number=numbers[question.id], text=_text(question, t)
            )
            if question.supporters:
                line += " " + t.ngettext(
                    "({n} more person asked the same)",
                    "({n} more people asked the same)",
                    question.supporters,
                ).format(n=question.supporters)
            lines.append(line)
        _dashes(document, lines)
    return numbers


def _answers(
    document: DocxDocument, report: DialogueReport, numbers: dict[str, int], t: Translator
) -> int:
    """II. The answers given, by question number; returns how many."""
    _label(document, t._("II. ANSWERS GIVEN"))
    lines = []
    for question in report.raised:
        number = numbers[question.id]
        answers = report.answers_to(question.id)
        for answer in answers:
            if answer.in_room:
                template = t._("Question {number} – {agency}, answered at the dialogue: {answer}")
            else:
                template = t._("Question {number} – {agency}: {answer}")
            lines.append(
                template.format(
                    number=number,
                    agency=agency_name(report, answer.agency, t),
                    answer=_private(question, answer.text, t),
                )
            )
        if question.answered_in_room and not answers:
            # Marked as answered in the room, with nothing written down.
            lines.append(
                t._("Question {number} – {agency}: answered at the dialogue").format(
                    number=number, agency=agency_name(report, question.agency, t)
                )
            )
    if lines:
        _dashes(document, lines)
    else:
        admin.body(document, t._("No answer has been given yet."))
    return len(lines)


def _commitments(document: DocxDocument, report: DialogueReport, t: Translator) -> None:
    """III. The commitments as a table: STT, agency, content, deadline, responsible."""
    _label(document, t._("III. COMMITMENTS"))
    if not report.commitments:
        admin.body(document, t._("No commitment was made."))
        return
    table = admin.grid(
        document, rows=len(report.commitments) + 1, widths=COMMITMENT_COLUMNS, borders=True
    )
    header = table.rows[0]
    _repeat_on_each_page(header)
    labels = (
        t._("Item"),
        t._("Agency"),
        t._("Commitment content"),
        t._("Deadline"),
        t._("Responsible"),
    )
    for cell, label in zip(header.cells, labels, strict=True):
        admin.run(admin.paragraph(cell), label, size=TABLE_PT, bold=True)
    questions = {q.id: q for q in report.questions}
    for index, (row, commitment) in enumerate(
        zip(table.rows[1:], report.commitments, strict=True), start=1
    ):
        question = questions.get(commitment.question_id or "")
        values = (
            (str(index), WD_ALIGN_PARAGRAPH.CENTER),
            (agency_name(report, commitment.agency, t), WD_ALIGN_PARAGRAPH.LEFT),
            (_private(question, commitment.content, t), WD_ALIGN_PARAGRAPH.LEFT),
            (_day(commitment.due_on), WD_ALIGN_PARAGRAPH.CENTER),
            (commitment.responsible, WD_ALIGN_PARAGRAPH.LEFT),
        )
        for cell, (text, align) in zip(row.cells, values, strict=True):
            admin.run(admin.paragraph(cell, align), text, size=TABLE_PT)
    admin.spacer(document, 6)


def _forwarded(
    document: DocxDocument, report: DialogueReport, numbers: dict[str, int], t: Translator
) -> None:
    """IV. The questions with neither answer nor commitment, gone to their agencies."""
    _label(document, t._("IV. QUESTIONS NOT ANSWERED, FORWARDED TO THEIR AGENCIES"))
    lines = []
    for question in report.raised:
        if (
            report.answers_to(question.id)
            or report.commitments_to(question.id)
            or question.answered_in_room
        ):
            continue
        agency = agency_name(report, question.agency, t)
        if question.due_on:
            line = t._("Question {number}: forwarded to {agency}, to answer by {deadline}")
        else:
            line = t._("Question {number}: forwarded to {agency}")
        lines.append(
            line.format(
                number=numbers[question.id],
                agency=agency,
                deadline=_day(question.due_on) if question.due_on else "",
            )
        )
    if lines:
        _dashes(document, lines)
    else:
        admin.body(document, t._("None."))


def _signatures(document: DocxDocument, heading: MinutesHeading, t: Translator) -> None:
    """The secretary on the left, the chair on the right, each with room to sign."""
    table = admin.two_columns(document, rows=1, widths=SIGNATURE_COLUMNS)
    for cell, title, name in zip(
        table.rows[0].cells,
        (t._("SECRETARY"), t._("CHAIR")),
        (heading.secretary, heading.chair),
        strict=True,
    ):
        admin.run(admin.paragraph(cell, before=12), title, size=BODY_PT, bold=True)
        admin.run(
            admin.paragraph(cell), t._("(Signature and full name)"), size=BODY_PT, italic=True
        )
        space = admin.paragraph(cell)
        space.paragraph_format.line_spacing = admin.SIGNATURE_SPACE
        admin.run(admin.paragraph(cell), name, size=BODY_PT, bold=True)


# --- small helpers ---------------------------------------------------------------------------


def _subject(title: str, t: Translator) -> str:
    """ "Đối thoại chính sách: <title>", unless the title already says it is a dialogue
    ("Đối thoại chính sách giảm nghèo năm 2026"), which would then read twice."""
    if fold(title).startswith(DIALOGUE_WORDS):
        return title
    return t._("Policy dialogue: {title}").format(title=title)


def _field(document: DocxDocument, label: str, value: str) -> None:
    added = admin.paragraph(document, WD_ALIGN_PARAGRAPH.JUSTIFY, after=3)
    added.paragraph_format.first_line_indent = BODY_INDENT
    admin.run(added, label, size=BODY_PT, bold=True)
    admin.run(added, f" {value}", size=BODY_PT)


def _label(document: DocxDocument, text: str, *, before: float = 6) -> None:
    """A section's label: bold, in line with the body's first lines."""
    label = admin.paragraph(document, WD_ALIGN_PARAGRAPH.JUSTIFY, before=before, after=3)
    label.paragraph_format.first_line_indent = BODY_INDENT
    admin.run(label, text, size=BODY_PT, bold=True)


def _dashes(container: DocxDocument | _Cell, items: Sequence[str]) -> None:
    """A list as administrative documents write one: a dash before each item, ";" after each
    but the last, "." after it (none after a question or an exclamation: "?;" reads badly);
    a long item wraps under its own text."""
    for number, item in enumerate(items, start=1):
        text = item.strip().rstrip(".;:")
        ending = "" if text.endswith(("?", "!", "…")) else "." if number == len(items) else ";"
        added = admin.paragraph(container, WD_ALIGN_PARAGRAPH.JUSTIFY, after=0)
        added.paragraph_format.left_indent = Emu(BODY_INDENT + DASH_HANG)
        added.paragraph_format.first_line_indent = Emu(-DASH_HANG)
        admin.run(added, f"- {text}{ending}", size=BODY_PT)
    admin.spacer(container, 3)


def _repeat_on_each_page(row) -> None:
    """A header row that Word and LibreOffice repeat at the top of each page of the table."""
    properties = row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


def _topic_order(report: DialogueReport, questions: Sequence[ReportQuestion]) -> list[str]:
    """The dialogue's own topics in its order, then the others in the catalog's."""
    present = {q.topic for q in questions}
    order = [c for c in report.dialogue.topics if c in present]
    order += [c for c in TOPICS if c in present and c not in order]
    order += sorted(present - set(order))
    return order


def _text(question: ReportQuestion, t: Translator) -> str:
    return _private(question, question.text, t)


def _private(question: ReportQuestion | None, text: str, t: Translator) -> str:
    """`text`, unless it belongs to a sensitive question: then only that it was left out."""
    if question is not None and question.sensitive:
        return t._("(sensitive content, not recorded)")
    return " ".join(text.split())


def _clock(instant: datetime, t: Translator) -> str:
    """A time of day as minutes write it: "08 giờ 00 phút"."""
    local = t.local(instant)
    return t._("{hour}:{minute}").format(hour=f"{local.hour:02d}", minute=f"{local.minute:02d}")


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
