"""The questions of a dialogue as a spreadsheet (XLSX), for the facilitator and the agencies to
sort, filter and follow up: every question with its answer and deadline, the commitments, and
counts by topic and status.

It is a working file, not a public one: sensitive questions are included, flagged. It still
identifies no anonymous asker: they appear as "Người hỏi ẩn danh", with their day only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.core.i18n import N_
from bot.core.lifecycles import CommitmentStatus, QuestionStatus
from bot.documents.cells import append_as_text
from bot.documents.files import write_atomically
from storage.reports import (
    DialogueReport,
    ReportQuestion,
    commitment_overdue,
    is_seeded_agency,
    question_overdue,
)
from storage.topics import TOPICS

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from bot.core.i18n import Translator

DATE_FORMAT = "dd/mm/yyyy"  # as Vietnamese people write dates; the cell stays a real date
STATUS_ORDER = (
    QuestionStatus.NEW,
    QuestionStatus.APPROVED,
    QuestionStatus.REOPENED,
    QuestionStatus.ANSWERED,
    QuestionStatus.COMMITTED,
    QuestionStatus.FULFILLED,
    QuestionStatus.MERGED,
    QuestionStatus.REJECTED,
)
QUESTION_STATUSES = {
    QuestionStatus.NEW: N_("Waiting for moderation"),
    QuestionStatus.APPROVED: N_("Waiting for an answer"),
    QuestionStatus.REOPENED: N_("Reopened (not satisfied)"),
    QuestionStatus.ANSWERED: N_("Answered"),
    QuestionStatus.COMMITTED: N_("Committed"),
    QuestionStatus.FULFILLED: N_("Commitment fulfilled"),
    QuestionStatus.MERGED: N_("Merged"),
    QuestionStatus.REJECTED: N_("Rejected"),
}
COMMITMENT_STATUSES = {
    CommitmentStatus.OPEN: N_("In progress"),
    CommitmentStatus.FULFILLED: N_("Fulfilled"),
}
# Column widths in characters: room for a ticket, a date, a name; long texts wrap.
NARROW, DATE_WIDTH, MEDIUM, WIDE = 9, 12, 24, 60


@dataclass(frozen=True)
class ExportSummary:
    questions: int
    answers: int
    commitments: int


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    kind: str = "text"  # text (wrapped), date, number


def write_questions(
    path: Path, report: DialogueReport, t: Translator, *, today: date
) -> ExportSummary:
    """Write the questions, commitments and summary sheets to the XLSX at `path` (whole or not
    at all); `today` decides what is overdue."""
    workbook = Workbook()
    workbook.properties.title = t._("Questions of the dialogue: {title}").format(
        title=report.dialogue.title
    )
    workbook.properties.creator = workbook.properties.lastModifiedBy = "doithoai"
    _questions(workbook.active, report, t, today=today)
    _commitments(workbook.create_sheet(), report, t, today=today)
    _summary(workbook.create_sheet(), report, t)
    _save(workbook, path)
    return ExportSummary(
        questions=len(report.questions),
        answers=len(report.answers),
        commitments=len(report.commitments),
    )


def status_name(question: ReportQuestion, t: Translator) -> str:
    if question.status == QuestionStatus.MERGED and question.merged_into:
        return t._("Merged into #{ticket}").format(ticket=question.merged_into)
    return t._(QUESTION_STATUSES.get(question.status, question.status))


def _questions(sheet: Worksheet, report: DialogueReport, t: Translator, *, today: date) -> None:
    sheet.title = t._("Questions")
    columns = [
        Column(t._("Ticket"), NARROW),
        Column(t._("Sent on"), DATE_WIDTH, "date"),
        Column(t._("Topic"), MEDIUM),
        Column(t._("Agency"), MEDIUM),
        Column(t._("Asker"), MEDIUM),
        Column(t._("Question text"), WIDE),
        Column(t._("Sensitive"), NARROW),
        Column(t._("Question status"), MEDIUM),
        Column(t._("People asking the same"), NARROW, "number"),
        Column(t._("Answer"), WIDE),
        Column(t._("Answered at the dialogue"), NARROW),
        Column(t._("Answer due"), DATE_WIDTH, "date"),
        Column(t._("Overdue"), NARROW),
    ]
    rows = []
    for question in report.questions:
        answers = report.answers_to(question.id)
        in_room = question.answered_in_room or any(a.in_room for a in answers)
        rows.append(
            [
                question.ticket,
                question.submitted_on,
                topic_name(question.topic, t),
                agency_name(report, question.agency, t),
                t._("Anonymous asker") if question.anonymous else (question.asker_name or ""),
                question.text,
                _yes(question.sensitive, t),
                status_name(question, t),
                question.supporters,
                "\n\n".join(a.text for a in answers),
                _yes(in_room, t),
                question.due_on,
                _yes(question_overdue(question, today=today), t),
            ]
        )
    _fill(sheet, columns, rows)


def _commitments(sheet: Worksheet, report: DialogueReport, t: Translator, *, today: date) -> None:
    sheet.title = t._("Commitments")
    columns = [
        Column(t._("Item"), 6, "number"),
        Column(t._("Agency"), MEDIUM),
        Column(t._("Commitment content"), WIDE),
        Column(t._("Deadline"), DATE_WIDTH, "date"),
        Column(t._("Responsible"), MEDIUM),
        Column(t._("Commitment status"), 16),
        Column(t._("Fulfilled on"), DATE_WIDTH, "date"),
        Column(t._("Overdue"), NARROW),
        Column(t._("Ticket"), NARROW),
        Column(t._("Progress"), WIDE),
    ]
    tickets = {q.id: q.ticket for q in report.questions}
    rows = [
        [
            index,
            agency_name(report, c.agency, t),
            c.content,
            c.due_on,
            c.responsible,
            t._(COMMITMENT_STATUSES.get(c.status, c.status)),
            c.fulfilled_on,
            _yes(commitment_overdue(c, today=today), t),
            tickets.get(c.question_id or "", ""),
            c.progress,
        ]
        for index, c in enumerate(report.commitments, start=1)
    ]
    _fill(sheet, columns, rows)


def _summary(sheet: Worksheet, report: DialogueReport, t: Translator) -> None:
    """Questions counted by topic (rows) and status (columns), with totals."""
    sheet.title = t._("Summary")
    counts = Counter((q.topic, q.status) for q in report.questions)
    statuses = [s for s in STATUS_ORDER if any(status == s for _, status in counts)]
    statuses += sorted({status for _, status in counts} - set(statuses))
    topics = [c for c in TOPICS if any(topic == c for topic, _ in counts)]
    topics += sorted({topic for topic, _ in counts} - set(topics))
    columns = [Column(t._("Topic"), WIDE)]
    columns += [Column(t._(QUESTION_STATUSES.get(s, s)), 14, "number") for s in statuses]
    columns.append(Column(t._("Total"), 10, "number"))
    rows: list[list[object]] = []
    for topic in topics:
        numbers = [counts[(topic, status)] for status in statuses]
        rows.append([topic_name(topic, t), *numbers, sum(numbers)])
    totals = [sum(counts[(topic, status)] for topic in topics) for status in statuses]
    rows.append([t._("Total"), *totals, sum(totals)])
    _fill(sheet, columns, rows)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _fill(sheet: Worksheet, columns: list[Column], rows: list[list[object]]) -> None:
    """A bold header frozen at the top with a filter on it, then the rows: dates as real
    dates shown dd/mm/yyyy, long texts wrapped."""
    sheet.append([c.title for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        append_as_text(sheet, row)  # what people typed is text, never a formula
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if column.kind == "date":
                cell.number_format = DATE_FORMAT
                cell.alignment = Alignment(horizontal="center", vertical="top")
            elif column.kind == "number":
                cell.alignment = Alignment(horizontal="center", vertical="top")
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(sheet.max_row, 1)}"


def topic_name(code: str, t: Translator) -> str:
    return t._(TOPICS[code].name) if code in TOPICS else code


def agency_name(report: DialogueReport, code: str | None, t: Translator) -> str:
    """A seeded agency's name is a catalog text; one added later is shown as written."""
    if not code:
        return ""
    name = report.agency_names.get(code, code)
    return t._(name) if is_seeded_agency(code) else name


def _yes(value: bool, t: Translator) -> str | None:
    """ "Yes", or an empty cell (which a filter shows as blank)."""
    return t._("Yes") if value else None


def _save(workbook: Workbook, path: Path) -> None:
    """Write to a temporary name beside `path` and rename: `path` never holds half a file, and
    is only ever a regular file (bot.documents.files)."""
    write_atomically(path, workbook.save)
