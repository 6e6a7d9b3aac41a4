"""`doithoai households`: import the ward's household list, and count what is registered.

An import is all or nothing: a file with any problem is reported line by line (exit code 1)
and nothing is written; a clean file goes in as one transaction. A file that cannot be read at
all (missing, not .csv or .xlsx, broken) stops with one line and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import Lazy
from bot.core.i18n import N_, Translator

if TYPE_CHECKING:
    from rich.progress import TaskID

    from bot.core.config import Settings
    from bot.households_import import ParsedFile
    from storage.households import UpsertResult

# Imported when first used: `doithoai --help` starts without them.
Console = Lazy("rich.console", "Console")
BarColumn = Lazy("rich.progress", "BarColumn")
Progress = Lazy("rich.progress", "Progress")
SpinnerColumn = Lazy("rich.progress", "SpinnerColumn")
TextColumn = Lazy("rich.progress", "TextColumn")
CATEGORIES = ("poor", "near_poor", "new_non_poor", "other")  # storage.households.CATEGORIES

households_app = typer.Typer(
    no_args_is_help=True,
    help="Households of the registry: import the ward's list, count them.",
)

CATEGORY_NAMES = {
    "poor": N_("Poor"),
    "near_poor": N_("Near-poor"),
    "new_non_poor": N_("Newly out of poverty"),
    "other": N_("Other"),
}


@contextmanager
def _progress() -> Iterator[Progress]:
    """A progress bar on stderr that disappears when done (nothing shown when not a terminal)."""
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


@households_app.command("import")
def import_households(
    file: Path = typer.Argument(..., help="The list: .csv (UTF-8) or .xlsx, header on top."),
) -> None:
    """Import or update households from FILE (by household code); nothing is written on errors."""
    from bot.cli.common import _fail, _run, _settings
    from bot.households_import import UnreadableFile, read_households

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    with _progress() as progress:
        task = progress.add_task(t._("Reading {name}").format(name=file.name), total=None)
        try:
            parsed = read_households(
                file,
                t,
                progress=lambda n: progress.update(task, completed=n),
                max_rows=settings.import_max_rows,
            )
        except UnreadableFile as exc:
            _fail(str(exc))
            raise  # unreachable
    if parsed.errors:
        for error in sorted(parsed.errors, key=lambda e: e.line):
            typer.echo(error.reason)
        if parsed.more_errors:
            typer.echo(t._("… and {count} more.").format(count=t.number(parsed.more_errors)))
        count = parsed.error_count
        typer.echo(
            t.ngettext(
                "{count} error: nothing was imported.",
                "{count} errors: nothing was imported.",
                count,
            ).format(count=t.number(count))
        )
        raise typer.Exit(1)

    outcome: list[UpsertResult] = []
    _run(_write(settings, parsed, t, outcome), settings)
    result = outcome[0]
    typer.echo(
        t._("Imported: {created} new, {updated} updated, {unchanged} unchanged.").format(
            created=t.number(result.created),
            updated=t.number(result.updated),
            unchanged=t.number(result.unchanged),
        )
    )


async def _write(
    settings: Settings, parsed: ParsedFile, t: Translator, outcome: list[UpsertResult]
) -> None:
    """Upsert every row in one transaction, behind a progress bar."""
    from storage.db import create_engine, require_current_schema, session_factory
    from storage.households import upsert_households

    engine = create_engine(settings.database_url)
    try:
        await require_current_schema(engine, settings.database_url)
        sessions = session_factory(engine)
        with _progress() as progress:
            task: TaskID = progress.add_task(t._("Writing to the database"), total=len(parsed.rows))
            async with sessions() as session, session.begin():
                outcome.append(
                    await upsert_households(
                        session,
                        rows=parsed.rows,
                        progress=lambda n: progress.update(task, completed=n),
                    )
                )
    finally:
        await engine.dispose()


@households_app.command("stats")
def stats() -> None:
    """Count the registered households by ward and category."""
    from bot.cli.common import _run, _settings

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    counts: list[tuple[str, str, int]] = []
    _run(_read_stats(settings, counts), settings)
    if not counts:
        typer.echo(t._("No households yet: import a list with `doithoai households import FILE`."))
        return
    typer.echo(stats_table(counts, t))


async def _read_stats(settings: Settings, counts: list[tuple[str, str, int]]) -> None:
    from storage.db import create_engine, require_current_schema, session_factory
    from storage.households import household_stats

    engine = create_engine(settings.database_url)
    try:
        await require_current_schema(engine, settings.database_url)
        async with session_factory(engine)() as session:
            counts.extend(await household_stats(session))
    finally:
        await engine.dispose()


def stats_table(counts: list[tuple[str, str, int]], t: Translator) -> str:
    """Households by ward (rows) and category (columns), with totals, as aligned plain text."""
    wards = sorted({ward for ward, _, _ in counts})
    by_cell = {(ward, category): n for ward, category, n in counts}
    header = [t._("Ward"), *(t._(CATEGORY_NAMES[c]) for c in CATEGORIES), t._("Total")]
    body: list[list[str]] = []
    for ward in [*wards, None]:
        cells = [
            sum(n for (w, c), n in by_cell.items() if c == category and ward in (None, w))
            for category in CATEGORIES
        ]
        name = ward if ward is not None else t._("Total")
        body.append([name, *(t.number(n) for n in cells), t.number(sum(cells))])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first, *numbers = row
        return "  ".join(
            [
                first.ljust(widths[0]),
                *(n.rjust(w) for n, w in zip(numbers, widths[1:], strict=True)),
            ]
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body[:-1]), rule, line(body[-1])])
