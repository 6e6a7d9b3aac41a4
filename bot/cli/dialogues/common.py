"""What the `doithoai dialogue` commands share: the group, the lazy imports, finding a
dialogue, reading a local time, writing a file."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import Lazy, LazyConsole, _fail
from bot.core.i18n import N_, Translator
from bot.documents.cells import csv_cell, csv_row

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings
    from storage.models import Dialogue

# Imported when first used: `doithoai --help` starts without them.
asyncio = Lazy("asyncio")
BarColumn = Lazy("rich.progress", "BarColumn")
Progress = Lazy("rich.progress", "Progress")
TextColumn = Lazy("rich.progress", "TextColumn")
Table = Lazy("rich.table", "Table")
undelivered_store = Lazy("storage.undelivered")
inv = Lazy("storage.invitations")
outbox_store = Lazy("storage.outbox")
reading = Lazy("storage.db", "reading")
create_dialogue = Lazy("storage.dialogues", "create_dialogue")
get_dialogue = Lazy("storage.dialogues", "get_dialogue")
list_dialogues = Lazy("storage.dialogues", "list_dialogues")

dialogue_app = typer.Typer(no_args_is_help=True, help="Dialogues: plan, select, invite, follow.")
console = LazyConsole()

GROUP_NAMES = {
    "priority": N_("Poor, near-poor, newly out of poverty"),
    "other": N_("Other households"),
}


def _parse_local(value: str, settings: Settings, t: Translator, option: str) -> datetime:
    for pattern in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=settings.zone)
        except ValueError:
            continue
    raise typer.BadParameter(
        t._("{value} is not a date and time like 2026-12-02 08:00 or 02/12/2026 08:00.").format(
            value=value
        ),
        param_hint=option,
    )


async def _dialogue(session: AsyncSession, dialogue_id: int, t: Translator) -> Dialogue:
    dialogue = await get_dialogue(session, dialogue_id=dialogue_id)
    if dialogue is None or dialogue.kind != "session":
        console.print(t._("There is no dialogue {id}.").format(id=dialogue_id), style="red")
        raise typer.Exit(1)
    return dialogue


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _status_name(t: Translator, dialogue: Dialogue) -> str:
    """planned (still to come), under way, past, or cancelled: the same words in every command."""
    from bot.core.clock import utcnow

    if dialogue.status == "cancelled":
        return t._("cancelled")
    if dialogue.status == "planned" and dialogue.starts_at is not None:
        now = utcnow()
        if dialogue.starts_at <= now:
            ends = dialogue.starts_at + timedelta(minutes=dialogue.duration_minutes or 0)
            return t._("under way") if now < ends else t._("past")
        return t._("planned")
    return dialogue.status


def _write_csv(out: Path, headers: list[str], lines: list[list[str]], t: Translator) -> None:
    """The list as CSV at `out`, whole or not at all, only over a new name or a regular file;
    a file that cannot be written is one line."""
    from bot.documents.files import write_atomically

    def write(temporary: str) -> None:
        # UTF-8 with a byte order mark: Excel then reads the Vietnamese letters right.
        with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            for line in lines:
                # Names and hamlets as typed: never a formula when the file is opened.
                writer.writerow([_as_text(line[0]), *csv_row(line[1:])])

    try:
        write_atomically(out, write)
    except OSError as exc:
        _cannot_write(out, exc, t)


def _cannot_write(path: Path, exc: OSError, t: Translator) -> None:
    """A file that cannot be written (--out, --letters): one line, exit 2."""
    from bot.documents.files import NotARegularFile

    if isinstance(exc, NotARegularFile):
        _fail(
            t._(
                "Cannot write {path}: it is not a regular file. Give a new file name or "
                "an existing file."
            ).format(path=path)
        )
    _fail(t._("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc))


def _as_text(value: str) -> str:
    """A code of digits only kept as text in a spreadsheet, leading zeros and all."""
    return f'="{value}"' if value.isdigit() else csv_cell(value)


async def _print_status(session: AsyncSession, d: Dialogue, t: Translator) -> None:
    counts = await inv.counts(session, dialogue_id=d.id)
    if not counts:
        console.print(
            t._("No households selected yet: run `doithoai dialogue select {id}`.").format(id=d.id)
        )
        return
    outbox = await outbox_store.status_counts(session, prefix=f"invite:{d.id}:")
    # Invited by chat, but the invitation reached none of the household's chats (Zalo's
    # window, blocked, refused): not "no answer" - they were never asked.
    missed = await inv.undelivered_invitations(session, dialogue_id=d.id)
    table = Table(
        t._("Group"),
        t._("Quota"),
        t._("Accepted"),
        t._("Declined"),
        t._("No answer"),
        t._("Not delivered"),
        t._("Letters"),
        t._("Not invited yet"),
        t._("Waitlist"),
        title=t._("Invitations of {title}").format(title=d.title),
    )
    for group, quota in (
        ("priority", d.quota_priority),
        ("other", d.quota_total - d.quota_priority),
    ):
        n = {
            status: counts.get((group, status), 0)
            for status in ("accepted", "declined", "invited", "letter", "selected", "waitlist")
        }
        table.add_row(
            t._(GROUP_NAMES[group]),
            str(quota),
            str(n["accepted"]),
            str(n["declined"]),
            str(n["invited"] - missed.get(group, 0)),
            str(missed.get(group, 0)),
            str(n["letter"]),
            str(n["selected"]),
            str(n["waitlist"]),
        )
    console.print(table)
    console.print(
        t._(
            "Messages: {sent} sent, {pending} waiting, {failed} failed, {unreachable} unreachable, "
            "{unknown} unknown."
        ).format(
            sent=outbox.get("sent", 0),
            pending=sum(outbox.get(s, 0) for s in ("pending", "claimed", "sending")),
            # Refused outside Zalo's window counts as failed (a copy may have gone elsewhere).
            failed=outbox.get("failed", 0) + outbox.get("window", 0),
            unreachable=outbox.get("unreachable", 0),
            unknown=outbox.get("unknown", 0),
        )
    )
