"""A consultation's documents: the quick report to the leaders (1-2 pages: figures, main
findings, most frequent opinions), the synthesis report (method, sample against targets,
results per question with charts, opinions by theme, adoption, proposals), both in the
administrative format of the minutes (Decree 30/2020), a PNG chart per question, and the XLSX
of the anonymous responses and themes.

Nothing here can name a respondent: the responses hold no one's name, chat or phone, and a
group under 5 responses is never shown apart.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from bot.consultation_results import (
    GROUP_NAMES,
    MIN_SHOWN,
    QuestionResult,
    Results,
    percent,
    points,
    worst_margin,
)
from bot.core.i18n import Translator
from bot.documents import admin
from bot.documents.chart import _lock
from handlers.consultation_news import DECISION_NAMES
from storage.models import Consultation, ConsultationOpinion, ConsultationTheme

TITLE_PT = 14
TABLE_PT = 12
CHART_WIDTH = Cm(14)
TOP_OPINIONS = 5


@dataclass(frozen=True)
class ReportHeading:
    body: str  # the issuing body
    place: str
    number: str
    day: date


def _group(t: Translator, group: str) -> str:
    return t._(GROUP_NAMES[group]) if group in GROUP_NAMES else group


def _decision(t: Translator, decision: str | None) -> str:
    if decision is None:
        return t._("Not yet decided")
    return t._(DECISION_NAMES[decision])


# --- charts -----------------------------------------------------------------------------------


def question_chart(question: QuestionResult, t: Translator) -> bytes:
    """One question's answers as horizontal bars with their shares, PNG (1000 px wide)."""
    # lazy: matplotlib only when a chart is drawn (issue 14)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [textwrap.fill(c.label, 28, max_lines=2, placeholder="…") for c in question.choices]
    counts = [c.count for c in question.choices]
    with _lock:
        figure = Figure(
            figsize=(10, 1.2 + 0.7 * max(len(labels), 2)), dpi=100, layout="constrained"
        )
        FigureCanvasAgg(figure)
        try:
            axes = figure.subplots()
            positions = list(range(len(labels)))[::-1]
            axes.barh(positions, counts, color="#0072B2")
            axes.set_yticks(positions, labels, fontfamily="DejaVu Sans", fontsize=13)
            axes.set_title(
                textwrap.fill(question.text, 80, max_lines=2, placeholder="…"),
                fontfamily="DejaVu Sans",
                fontsize=14,
                loc="left",
            )
            top = max(counts or [0]) or 1
            axes.set_xlim(0, top * 1.25)
            for position, choice in zip(positions, question.choices, strict=True):
                axes.text(
                    choice.count + top * 0.01,
                    position,
                    f"{choice.count} ({percent(choice.share, t.locale)})",
                    va="center",
                    fontfamily="DejaVu Sans",
                    fontsize=12,
                )
            axes.spines[["top", "right"]].set_visible(False)
            axes.set_xlabel(
                t._("{answered} answers").format(answered=question.answered),
                fontfamily="DejaVu Sans",
                fontsize=12,
            )
            buffer = io.BytesIO()
            figure.savefig(
                buffer, format="png", dpi=100, facecolor="white", metadata={"Software": None}
            )
            return buffer.getvalue()
        finally:
            figure.clear()


# --- the reports ------------------------------------------------------------------------------


def _table(
    document: Any, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> None:
    table = admin.grid(
        document, rows=len(rows) + 1, widths=tuple(Cm(w) for w in widths), borders=True
    )
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        admin.run(admin.paragraph(cell), text, size=TABLE_PT, bold=True)
    for row, values in zip(table.rows[1:], rows, strict=True):
        for index, (cell, text) in enumerate(zip(row.cells, values, strict=True)):
            align = WD_ALIGN_PARAGRAPH.LEFT if index == 0 else WD_ALIGN_PARAGRAPH.CENTER
            admin.run(admin.paragraph(cell, align), text, size=TABLE_PT)
    admin.spacer(document, 6)


def _section(document: Any, text: str) -> None:
    """A part's heading: Word's "Heading 2" (for the outline), in the body's font and black."""
    heading = document.add_heading(level=2)
    heading.alignment = WD_ALIGN_PARAGRAPH.LEFT
    heading.paragraph_format.space_before = Pt(8)
    heading.paragraph_format.space_after = Pt(4)
    added = admin.run(heading, text, size=admin.BODY_PT, bold=True)
    added.font.color.rgb = RGBColor(0, 0, 0)


def _sample(document: Any, results: Results, t: Translator) -> None:
    loc = t.locale
    rows = []
    for g in results.groups:
        shown = str(g.count) if g.shown else t._("under {min}").format(min=MIN_SHOWN)
        rows.append(
            [
                _group(t, g.group),
                shown,
                str(g.target) if g.target else "–",
                points(_worst(g.count), loc) if g.shown else "–",
                t._("under target") if g.short else t._("reached"),
            ]
        )
    _table(
        document,
        [t._("Group"), t._("Responses"), t._("Target"), t._("Margin (95 %)"), t._("Sample")],
        rows,
        (5.0, 2.6, 2.4, 3.0, 3.0),
    )
    admin.body(
        document,
        t._(
            "Groups under {min} responses are not shown apart, so that no one can be recognised "
            "by their group. The margin of error is at 95 %, for a share of 50 % (the widest)."
        ),
        min=str(MIN_SHOWN),
    )


def _worst(n: int) -> float:
    return worst_margin(n)


def _findings(results: Results, t: Translator) -> list[str]:
    """One line per choice question: the most frequent answer and its share."""
    loc = t.locale
    lines = []
    for q in results.questions:
        if not q.choices or not q.answered:
            continue
        if q.type == "scale" and q.mean is not None:
            lines.append(
                t._("{question}: mean {mean} of 5 ({answered} answers).").format(
                    question=q.text, mean=t.number(round(q.mean, 1)), answered=q.answered
                )
            )
            continue
        top = max(q.choices, key=lambda c: c.count)
        lines.append(
            t._("{question}: “{answer}” {share} ({margin} points; {answered} answers).").format(
                question=q.text,
                answer=top.label,
                share=percent(top.share, loc),
                margin=points(top.margin, loc),
                answered=q.answered,
            )
        )
    return lines


def _question_table(document: Any, q: QuestionResult, t: Translator) -> None:
    loc = t.locale
    groups = list(q.by_group)[:3]
    header = [t._("Answer"), t._("All"), *[_group(t, g) for g in groups]]
    rows = []
    for index, choice in enumerate(q.choices):
        rows.append(
            [
                choice.label,
                f"{choice.count} ({percent(choice.share, loc)})",
                *[
                    f"{q.by_group[g][index].count} ({percent(q.by_group[g][index].share, loc)})"
                    for g in groups
                ],
            ]
        )
    first = 16.0 - 2.8 * (1 + len(groups))
    _table(document, header, rows, (first, *[2.8] * (1 + len(groups))))


def write_report(
    path: Path,
    consultation: Consultation,
    results: Results,
    themes: list[ConsultationTheme],
    theme_counts: dict[int | None, int],
    heading: ReportHeading,
    t: Translator,
    *,
    kind: str,
) -> None:
    """The quick or the synthesis report, written whole to `path` (DOCX)."""
    document = Document()
    title = t._("QUICK REPORT") if kind == "quick" else t._("SYNTHESIS REPORT")
    _report_opening(document, consultation, results, heading, title, t)
    if kind == "synthesis":
        _section(document, t._("I. Method"))
        _report_method(document, consultation, t)
        _section(document, t._("II. The sample against the targets"))
    else:
        _section(document, t._("1. Figures"))
    _sample(document, results, t)
    if kind == "quick":
        _report_findings(document, results, themes, theme_counts, t)
    else:
        _report_questions(document, results, t)
        _report_themes(document, themes, theme_counts, t)
    signature = admin.paragraph(document, WD_ALIGN_PARAGRAPH.RIGHT, before=18)
    admin.run(signature, heading.body.upper(), size=admin.BODY_PT, bold=True)
    admin.tiny_paragraph(document)
    admin.save(document, path)


def _report_opening(
    document: Any,
    consultation: Consultation,
    results: Results,
    heading: ReportHeading,
    title: str,
    t: Translator,
) -> None:
    """The heading, the title and the opening paragraphs (when, how many, the margin)."""
    admin.set_up(
        document,
        title=f"{title}: {consultation.title}",
        author=heading.body,
        t=t,
    )
    admin.heading(
        document,
        issuer=heading.body,
        superior="",
        number=heading.number,
        place=heading.place,
        day=heading.day,
        t=t,
    )
    paragraph = admin.paragraph(document, before=12)
    admin.run(paragraph, title, size=TITLE_PT, bold=True)
    paragraph = admin.paragraph(document)
    admin.run(
        paragraph,
        t._("Results of the consultation: {title}").format(title=consultation.title),
        size=TITLE_PT,
        bold=True,
    )
    admin.spacer(document, 6)
    loc = t.locale
    opened = t.short_date(consultation.opens_at)
    closed = t.short_date(consultation.closes_at)
    admin.body(
        document,
        t._(
            "From {opens} to {closes}, {count} people answered the questionnaire by chat "
            "(Telegram, Zalo), anonymously, against a target of {goal}. Margin of error at "
            "95 %: {margin} points."
        ),
        opens=opened,
        closes=closed,
        count=str(results.total),
        goal=str(results.target or "–"),
        margin=points(results.margin, loc),
    )
    if consultation.purpose:
        admin.body(document, t._("Purpose: {text}"), text=consultation.purpose)


def _report_method(document: Any, consultation: Consultation, t: Translator) -> None:
    """The synthesis report's method: the questionnaire, who it went to, what is kept."""
    wards = ", ".join((consultation.audience or {}).get("wards") or []) or t._("open to anyone")
    admin.body(
        document,
        t._(
            "Questionnaire of {count} questions sent by chat to the linked households of "
            "{wards} and open to anyone who wished with /gopy. One response per person, "
            "kept without any link to them; groups under {min} responses are not shown apart."
        ),
        count=str(len(consultation.questions)),
        wards=wards,
        min=str(MIN_SHOWN),
    )


def _report_findings(
    document: Any,
    results: Results,
    themes: list[ConsultationTheme],
    theme_counts: dict[int | None, int],
    t: Translator,
) -> None:
    """The quick report's main findings and most frequent opinions."""
    _section(document, t._("2. Main findings"))
    for line in _findings(results, t):
        admin.body(document, "- {line}", line=line)
    _section(document, t._("3. Most frequent opinions"))
    named = sorted(
        (th for th in themes if theme_counts.get(th.id)),
        key=lambda th: -theme_counts.get(th.id, 0),
    )[:TOP_OPINIONS]
    if named:
        for th in named:
            admin.body(
                document,
                t._("- {theme}: {count} opinions."),
                theme=th.name,
                count=str(theme_counts.get(th.id, 0)),
            )
    else:
        opinions = sum(len(q.texts) for q in results.questions)
        admin.body(
            document,
            t._("{count} opinions in words, not yet grouped into themes."),
            count=str(opinions),
        )


def _report_questions(document: Any, results: Results, t: Translator) -> None:
    """The synthesis report's results per question: table, chart and mean, or the count of
    opinions in words."""
    loc = t.locale
    _section(document, t._("III. Results per question"))
    for number, q in enumerate(results.questions, start=1):
        admin.body(
            document,
            t._("Question {number}. {text} ({answered} answers, {margin} points)"),
            bold_text=True,
            number=str(number),
            text=q.text,
            answered=str(q.answered),
            margin=points(q.margin, loc),
        )
        if q.choices:
            _question_table(document, q, t)
            picture = admin.paragraph(document)
            picture.add_run().add_picture(io.BytesIO(question_chart(q, t)), width=CHART_WIDTH)
            if q.mean is not None:
                admin.body(
                    document,
                    t._("Mean {mean} of 5 ({margin})"),
                    mean=t.number(round(q.mean, 2)),
                    margin="±" + t.number(round(q.mean_margin or 0, 2)),
                )
        else:
            admin.body(
                document,
                t._("{count} opinions in words (see part IV)."),
                count=str(len(q.texts)),
            )


def _report_themes(
    document: Any,
    themes: list[ConsultationTheme],
    theme_counts: dict[int | None, int],
    t: Translator,
) -> None:
    """The synthesis report's opinions by theme with their adoption, and the proposals."""
    _section(document, t._("IV. Opinions by theme and their adoption"))
    if themes:
        _table(
            document,
            [t._("Theme"), t._("Opinions"), t._("Decision"), t._("What changes / why not")],
            [
                [
                    th.name,
                    str(theme_counts.get(th.id, 0)),
                    _decision(t, th.decision),
                    th.change or th.reason or "–",
                ]
                for th in themes
            ],
            (5.0, 2.2, 3.3, 5.5),
        )
    ungrouped = theme_counts.get(None, 0)
    if ungrouped:
        admin.body(
            document,
            t._("{count} opinions not yet grouped into themes."),
            count=str(ungrouped),
        )
    _section(document, t._("V. Proposals"))
    proposals = [th for th in themes if th.decision in ("adopted", "partly", "under_study")]
    if proposals:
        for th in proposals:
            admin.body(
                document,
                "- {theme}: {change}",
                theme=th.name,
                change=th.change or _decision(t, th.decision),
            )
    else:
        admin.body(document, t._("No proposal has been decided yet."))


# --- the export ---------------------------------------------------------------------------------


def write_export(
    path: Path,
    consultation: Consultation,
    responses: list[tuple[str, dict[str, Any]]],
    themes: list[ConsultationTheme],
    opinions: list[ConsultationOpinion],
    t: Translator,
) -> None:
    """Sheets "Phiếu trả lời" (one row per response: its group and answers; groups under 5
    folded into one), "Ý kiến" (opinions and their theme), "Chủ đề" (themes and decisions)."""
    from openpyxl import Workbook  # lazy: openpyxl only when a workbook is written (issue 14)

    counts: dict[str, int] = {}
    for group, _a in responses:
        counts[group] = counts.get(group, 0) + 1
    book = Workbook()
    sheet = book.active
    sheet.title = t._("Responses")[:31]
    questions = consultation.questions
    sheet.append([t._("No."), t._("Group"), *[q["text"][:200] for q in questions]])
    for number, (group, answers) in enumerate(responses, start=1):
        shown = _group(t, group) if counts[group] >= MIN_SHOWN else t._("other groups")
        row: list[Any] = [number, shown]
        for q in questions:
            value = answers.get(q["id"])
            row.append(
                ", ".join(value) if isinstance(value, list) else ("" if value is None else value)
            )
        sheet.append(row)
    names = {th.id: th.name for th in themes}
    sheet = book.create_sheet(t._("Opinions")[:31])
    sheet.append([t._("No."), t._("Question"), t._("Opinion"), t._("Theme")])
    for o in opinions:
        sheet.append([o.id, o.question, o.text, names.get(o.theme_id or 0, "")])
    sheet = book.create_sheet(t._("Themes")[:31])
    sheet.append(
        [t._("Theme"), t._("Decision"), t._("What changes"), t._("Why not"), t._("Decided on")]
    )
    for th in themes:
        sheet.append(
            [
                th.name,
                _decision(t, th.decision),
                th.change,
                th.reason,
                th.decided_on.isoformat() if th.decided_on else "",
            ]
        )
    book.save(path)
