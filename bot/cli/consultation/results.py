"""`doithoai consultation results | report | export`: its results, its reports and its data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import _context, _go
from bot.cli.consultation.common import (
    Table,
    _consultation,
    _fail,
    _now,
    compute,
    console,
    consultation_app,
    group_name,
    percent,
    points,
    results_module,
    store,
)
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.consultation_results import Results
    from storage.models import Consultation


async def load_results(session: AsyncSession, c: Consultation) -> Results:
    responses = await store.submitted_responses(session, consultation_id=c.id)
    return compute(c.questions, c.targets, responses)


def print_results(t: Translator, c: Consultation, results: Results) -> None:
    loc = t.locale
    console.print(f"[bold]{c.title}[/bold]", highlight=False)
    console.print(
        t._(
            "{count} responses (target {target}); margin of error at 95 %: {margin} points."
        ).format(
            count=results.total, target=results.target or "–", margin=points(results.margin, loc)
        ),
        highlight=False,
    )
    table = Table(t._("Group"), t._("Responses"), t._("Target"), t._("Margin"), "")
    for g in results.groups:
        if g.shown:
            table.add_row(
                group_name(t, g.group),
                str(g.count),
                str(g.target or "–"),
                points(_worst(g.count), loc),
                t._("⚠ under target") if g.short else "",
            )
        else:
            table.add_row(
                group_name(t, g.group),
                t._("under {min}").format(min=results_module.MIN_SHOWN),
                str(g.target or "–"),
                "",
                t._("⚠ under target") if g.short else "",
            )
    console.print(table)
    console.print(
        t._("Groups under {min} responses are never shown apart.").format(
            min=results_module.MIN_SHOWN
        )
    )
    for number, q in enumerate(results.questions, start=1):
        _print_question(t, number, q)


def _print_question(t: Translator, number: int, q: Any) -> None:
    """One question's answers, overall and per group, with their margins."""
    loc = t.locale
    console.print(
        f"\n[bold]{number}. {q.text}[/bold] "
        + t._("({answered} answers; {margin} points)").format(
            answered=q.answered, margin=points(q.margin, loc)
        ),
        highlight=False,
    )
    if q.type == "text":
        console.print(t._("{count} opinions in words.").format(count=len(q.texts)))
        return
    groups = list(q.by_group)
    table = Table(t._("Answer"), t._("All"), *[group_name(t, g) for g in groups])
    for index, choice in enumerate(q.choices):
        table.add_row(
            choice.label,
            f"{choice.count} ({percent(choice.share, loc)} {points(choice.margin, loc)})",
            *[
                f"{q.by_group[g][index].count} ({percent(q.by_group[g][index].share, loc)})"
                for g in groups
            ],
        )
    console.print(table)
    if q.mean is not None:
        console.print(
            t._("Mean {mean} of 5 ({margin})").format(
                mean=t.number(round(q.mean, 2)),
                margin="±" + t.number(round(q.mean_margin or 0, 2)),
            )
        )


def _worst(n: int) -> float:
    from bot.consultation_results import worst_margin

    return worst_margin(n)


@consultation_app.command("results")
def results(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    charts: Path | None = typer.Option(
        None, "--charts", help="Write one PNG chart per question here."
    ),
) -> None:
    """Counts per question and per audience group against the targets, with the margins."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        figures = await load_results(session, c)
        print_results(t, c, figures)
        if charts is not None:
            from bot.documents.consultation import question_chart

            try:
                charts.mkdir(parents=True, exist_ok=True)
                for number, q in enumerate(figures.questions, start=1):
                    if q.choices:
                        (charts / f"cau-{number:02d}-{q.id}.png").write_bytes(question_chart(q, t))
            except OSError as exc:
                _fail(
                    t._("Cannot write {path}: {reason}").format(
                        path=charts, reason=exc.strerror or exc
                    ),
                    code=2,
                )
            console.print(t._("Charts written to {path}").format(path=charts))

    _go(settings, work)


@consultation_app.command("report")
def report(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    kind: str = typer.Option("quick", "--kind", help="quick | synthesis"),
    out: Path = typer.Option(..., "--out", help="The DOCX to write."),
    body: str = typer.Option(
        "", "--body", help="The issuing body (default: the People's Council office)."
    ),
    place: str = typer.Option("", "--place", help="The place in the date line."),
    number: str = typer.Option("", "--number", help="The document's number."),
) -> None:
    """The quick report to the leaders (1-2 pages) or the synthesis report, as DOCX in the
    administrative format."""
    settings, t = _context()
    if kind not in ("quick", "synthesis"):
        raise typer.BadParameter("quick | synthesis", param_hint="--kind")

    async def work(session: AsyncSession) -> None:
        from bot.documents.consultation import ReportHeading, write_report

        c = await _consultation(session, consultation_id, t)
        figures = await load_results(session, c)
        themes = await store.themes(session, consultation_id=c.id)
        counts = await store.theme_counts(session, consultation_id=c.id)
        heading = ReportHeading(
            body=body or t._("OFFICE OF THE PEOPLE'S COUNCIL"),
            place=place or ", ".join((c.audience or {}).get("wards") or [])[:60],
            number=number,
            day=_now().astimezone(settings.zone).date(),
        )
        try:
            write_report(out, c, figures, themes, counts, heading, t, kind=kind)
        except OSError as exc:
            _fail(
                t._("Cannot write {path}: {reason}").format(path=out, reason=exc.strerror or exc),
                code=2,
            )
        typer.echo(t._("Written: {path}").format(path=out))

    _go(settings, work)


@consultation_app.command("export")
def export(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(..., "--out", help="The XLSX to write."),
) -> None:
    """The anonymous responses and the themes as XLSX (no one's name, chat or phone)."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        from bot.documents.consultation import write_export

        c = await _consultation(session, consultation_id, t)
        responses = await store.submitted_responses(session, consultation_id=c.id)
        themes = await store.themes(session, consultation_id=c.id)
        opinions = await store.opinions(session, consultation_id=c.id)
        try:
            write_export(out, c, responses, themes, opinions, t)
        except OSError as exc:
            _fail(
                t._("Cannot write {path}: {reason}").format(path=out, reason=exc.strerror or exc),
                code=2,
            )
        typer.echo(t._("Written: {path}").format(path=out))

    _go(settings, work)
