"""`doithoai export`: the minutes of a dialogue (DOCX) and its questions (XLSX).

Both read the dialogue in one transaction, then write the file under a temporary name and
rename it, so that a failed export leaves no half-written file behind. Errors are one line:
an unknown dialogue or the general intake's minutes exit 1, a file that cannot be written 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from bot.cli.common import _context
from bot.core.i18n import Translator

if TYPE_CHECKING:  # imported where used: `doithoai --help` starts without them
    from bot.core.config import Settings
    from storage.reports import DialogueReport

export_app = typer.Typer(no_args_is_help=True, help="Minutes and exports of a dialogue.")

Summary = TypeVar("Summary")


def _report(settings: Settings, t: Translator, dialogue_id: int) -> DialogueReport:
    """The dialogue's report, from a database whose schema is current; exit 1 if there is no
    such dialogue."""
    from bot.cli.common import _run

    found: list[DialogueReport] = []

    async def main() -> None:
        from storage.db import create_engine, require_current_schema, session_factory
        from storage.reports import dialogue_report

        engine = create_engine(settings.database_url)
        try:
            await require_current_schema(engine, settings.database_url)
            async with session_factory(engine)() as session, session.begin():
                report = await dialogue_report(session, dialogue_id=dialogue_id)
        finally:
            await engine.dispose()
        if report is None:
            _fail(t._("There is no dialogue {id}.").format(id=dialogue_id), code=1)
        found.append(report)

    _run(main(), settings)
    return found[0]


def _write(t: Translator, path: Path, write: Callable[[Path], Summary]) -> Summary:
    """Run `write(path)`; a file that cannot be written is one line and exit 2. Only a new
    name or a regular file is written over (never a device such as /dev/full, nor a link)."""
    from bot.documents.files import NotARegularFile

    try:
        return write(path)
    except NotARegularFile:
        _fail(
            t._(
                "Cannot write {path}: it is not a regular file. Give a new file name or "
                "an existing file."
            ).format(path=path),
            code=2,
        )
        raise  # unreachable
    except OSError as exc:
        _fail(
            t._("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc),
            code=2,
        )
        raise  # unreachable


def _done(t: Translator, path: Path, questions: int, answers: int, commitments: int) -> None:
    typer.echo(t._("Written: {path}").format(path=path))
    typer.echo(
        t._("Questions: {questions}, answers: {answers}, commitments: {commitments}.").format(
            questions=questions, answers=answers, commitments=commitments
        )
    )


def _fail(message: str, *, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@export_app.command("minutes")
def minutes(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, help="Where to write (default: bien-ban-doi-thoai-ID.docx)."),
    number: str = typer.Option("", help="The minutes' number, e.g. '05/BB-MTTQ'."),
    chair: str = typer.Option("", help="Who chaired the dialogue."),
    secretary: str = typer.Option("", help="Who kept the record."),
    body: str = typer.Option(
        "", help="The issuing body (default: the Fatherland Front committee of the ward)."
    ),
    superior: str = typer.Option("", help="The body above the issuing body, if any."),
    place: str = typer.Option("", help="Place of the date line (default: the first ward)."),
) -> None:
    """The minutes (biên bản) of a dialogue, as DOCX in the administrative format."""
    from bot.documents.minutes import MinutesHeading, write_minutes

    settings, t = _context()
    report = _report(settings, t, dialogue_id)
    dialogue = report.dialogue
    if dialogue.kind != "session" or dialogue.starts_at is None:
        _fail(
            t._(
                "Dialogue {id} is the standing intake for general questions: it has no minutes."
            ).format(id=dialogue_id),
            code=1,
        )
    wards = ", ".join(dialogue.wards)
    heading = MinutesHeading(
        body=body.strip()
        or (
            t._("FATHERLAND FRONT COMMITTEE OF {ward}").format(ward=wards)
            if wards
            else t._("FATHERLAND FRONT COMMITTEE")
        ),
        superior=superior.strip(),
        number=number.strip(),
        place=place.strip() or (dialogue.wards[0] if dialogue.wards else ""),
        chair=chair.strip(),
        secretary=secretary.strip(),
    )
    path = out or Path(f"bien-ban-doi-thoai-{dialogue_id}.docx")
    summary = _write(t, path, lambda p: write_minutes(p, report, heading, t))
    _done(t, path, summary.questions, summary.answers, summary.commitments)


@export_app.command("questions")
def questions(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, help="Where to write (default: cau-hoi-doi-thoai-ID.xlsx)."),
) -> None:
    """The questions, answers and commitments of a dialogue, as XLSX."""
    from bot.core.clock import utcnow
    from bot.documents.exports import write_questions

    settings, t = _context()
    report = _report(settings, t, dialogue_id)
    today = utcnow().astimezone(settings.zone).date()
    path = out or Path(f"cau-hoi-doi-thoai-{dialogue_id}.xlsx")
    summary = _write(t, path, lambda p: write_questions(p, report, t, today=today))
    _done(t, path, summary.questions, summary.answers, summary.commitments)
