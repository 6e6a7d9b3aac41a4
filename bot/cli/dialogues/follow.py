"""`doithoai dialogue attendance | move | cancel | undelivered`: what happens after the
invitations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _fail, _go
from bot.cli.dialogues.common import (
    Table,
    _dialogue,
    _parse_local,
    _write_csv,
    console,
    dialogue_app,
    inv,
    undelivered_store,
)
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings
    from storage.models import Dialogue


def _attendance_code(line: int, row: list[str], codes: list[tuple[int, str]]) -> None:
    """The household code of one line of an attendance list (its first cell), if any."""
    value = " ".join((row[0] if row else "").split())
    if line == 1 and value.lower().replace(" ", "") in (
        "mãhộ",
        "code",
        "mãhộgiađình",
        "householdcode",
    ):
        return  # the header
    if value:
        codes.append((line, value))


def _attendance_codes(file: Path, settings: Settings, t: Translator) -> list[tuple[int, str]]:
    """The (line, household code) of an attendance list; one line and exit when unreadable."""
    from bot.households_import import UnreadableFile, csv_rows

    if not file.exists():
        _fail(t._("Cannot read {path}: no such file.").format(path=file))
    codes: list[tuple[int, str]] = []
    try:
        # Streamed, and bounded like the household list: no more codes than the registry's.
        for line, row in enumerate(csv_rows(file, t), start=1):
            if line > settings.import_max_rows:
                _fail(
                    t._(
                        "Cannot import {path}: it has more than {limit} rows. Split it, or "
                        "raise DOITHOAI_IMPORT_MAX_ROWS."
                    ).format(path=file, limit=t.number(settings.import_max_rows))
                )
            _attendance_code(line, row, codes)
    except UnreadableFile as exc:
        _fail(str(exc))
    return codes


@dialogue_app.command("attendance")
def attendance(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    file: Path = typer.Argument(..., help="CSV with a column of household codes (Mã hộ)."),
) -> None:
    """Record who came, from a CSV of household codes; nothing is recorded if a line is wrong."""
    from bot.households_import import MAX_REPORTED

    settings, t = _context()
    codes = _attendance_codes(file, settings, t)

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        invited = {
            i.household.code: i.household.id
            for i in await inv.with_status(session, dialogue_id=d.id, statuses=inv.INVITED)
        }
        wrong = [(line, code) for line, code in codes if code not in invited]
        if wrong:
            for line, code in wrong[:MAX_REPORTED]:
                console.print(
                    t._(
                        "Line {line}: the household {code} was not invited to this dialogue."
                    ).format(line=line, code=code),
                    style="red",
                )
            if len(wrong) > MAX_REPORTED:
                console.print(
                    t._("… and {count} more.").format(count=t.number(len(wrong) - MAX_REPORTED))
                )
            console.print(t._("{count} errors: nothing was recorded.").format(count=len(wrong)))
            raise typer.Exit(1)
        came = {invited[code] for _, code in codes}
        present = await inv.record_attendance(session, dialogue_id=d.id, household_ids=came)
        # The invitations that stand: a household that declined and the one that took its
        # seat are one seat (a decliner who came all the same is counted among those asked).
        declined = {
            i.household.id
            for i in await inv.with_status(session, dialogue_id=d.id, statuses=["declined"])
        }
        asked = await inv.standing(session, dialogue_id=d.id) + len(came & declined)
        console.print(
            t._("Attendance recorded: {present} of {invited} invited households came.").format(
                present=present, invited=asked
            )
        )

    _go(settings, work)


@dialogue_app.command("move")
def move(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    start: str = typer.Option(..., help="New start, local time."),
    venue: str = typer.Option(None, help="New venue."),
    allow_past: bool = typer.Option(False, "--allow-past", help="Accept a start in the past."),
) -> None:
    """Move a dialogue: its reminders follow, and those invited are told."""
    from bot.core.clock import utcnow
    from bot.services import Notifier
    from bot.services.invitations import Invitations

    settings, t = _context()
    starts_at = _parse_local(start, settings, t, "--start")
    if not allow_past:
        from bot.cli.names import refuse_past

        refuse_past(t, starts_at, utcnow(), "--start")

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        told, lettered = await Invitations(Notifier.from_settings(settings)).move(
            session,
            dialogue=d,
            starts_at=starts_at,
            venue=venue,
            reminder_offsets=settings.reminder_offsets,
            now=utcnow(),
        )
        console.print(
            t._("Dialogue moved to {when}; {told} households will be told.").format(
                when=t.datetime(starts_at), told=told
            )
        )
        if lettered:
            _print_lettered(t, d, lettered)
            console.print(
                t._(
                    "Print their new letters with `doithoai dialogue invite {id} --letters "
                    "FILE.docx --changed`."
                ).format(id=d.id)
            )

    _go(settings, work)


@dialogue_app.command("cancel")
def cancel(dialogue_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Cancel a dialogue: no more reminders, and those invited are told."""
    from bot.core.clock import utcnow
    from bot.services import Notifier
    from bot.services.invitations import Invitations

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        told, lettered = await Invitations(Notifier.from_settings(settings)).cancel(
            session, dialogue=d, now=utcnow()
        )
        console.print(t._("Dialogue cancelled; {told} households will be told.").format(told=told))
        if lettered:
            _print_lettered(t, d, lettered)

    _go(settings, work)


def _print_lettered(t: Translator, d: Dialogue, lettered: list[inv.Invitee]) -> None:
    """The households invited by a printed letter that now carries an old time: no chat will
    tell them, the ward must (a new letter, the loudspeaker, a visit)."""
    table = Table(
        t._("Household code"),
        t._("Head of household"),
        t._("Hamlet"),
        t._("Phone"),
        title=t._("Households holding a letter with the old time: {title}").format(title=d.title),
    )
    for i in lettered:
        table.add_row(
            i.household.code, i.household.head_name, i.household.hamlet, _phone(i.household.phone)
        )
    console.print(table)
    console.print(
        t._(
            "{count} households were invited by printed letter and have no chat: tell them "
            "another way."
        ).format(count=len(lettered))
    )


def _channel_name(channel: str) -> str:
    return {"telegram": "Telegram", "zalo": "Zalo"}.get(channel, channel)


def _missed_label(t: Translator, missed: undelivered_store.Missed) -> str:
    if missed.kind == "invite":
        return t._("Invitation")
    if missed.kind == "remind":
        if missed.reminder is None:
            return t._("Reminder")
        return t._("Reminder ({when})").format(when=t.datetime(missed.reminder.due_at))
    if missed.kind == "moved":
        return t._("Change of time")
    return t._("Dialogue cancelled")


def _missed_reason(t: Translator, missed: undelivered_store.Missed) -> str:
    reason = {
        "window": t._("{channel}: has not written to us lately, the platform refuses messages"),
        "unreachable": t._("{channel}: blocked the bot or the chat is gone"),
        "unknown": t._(
            "{channel}: cut off while sending, it may not have arrived (see `doithoai outbox "
            "unknown`)"
        ),
    }.get(missed.status, t._("{channel}: the message was refused"))
    return reason.format(channel=_channel_name(missed.channel))


def _phone(phone: str | None) -> str:
    """0912345678 as 0912 345 678: easier to read out, and a spreadsheet keeps it as text
    (a bare number would lose its leading zero)."""
    if not phone:
        return ""
    if len(phone) == 10 and phone.isdigit():
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    return phone


async def _undelivered_lines(
    session: AsyncSession, d: Dialogue, t: Translator
) -> tuple[list[str], list[list[str]]]:
    """The headers and one line per household a message of the dialogue did not reach, then
    per household holding a printed letter with an old time."""
    found = await undelivered_store.undelivered(session, dialogue_id=d.id)
    lettered = await inv.outdated_letters(session, dialogue_id=d.id)
    headers = [
        t._("Household code"),
        t._("Head of household"),
        t._("Hamlet"),
        t._("Phone"),
        t._("Not delivered"),
        t._("Why"),
    ]
    lines = [
        [
            item.household.code,
            item.household.head_name,
            item.household.hamlet,
            _phone(item.household.phone),
            "; ".join(dict.fromkeys(_missed_label(t, m) for m in item.missed)),
            "; ".join(dict.fromkeys(_missed_reason(t, m) for m in item.missed)),
        ]
        for item in found
    ]
    old_letter = t._("Dialogue cancelled") if d.status == "cancelled" else t._("Change of time")
    lines += [
        [
            i.household.code,
            i.household.head_name,
            i.household.hamlet,
            _phone(i.household.phone),
            old_letter,
            t._("printed letter with the old time, no chat"),
        ]
        for i in lettered
    ]
    return headers, lines


@dialogue_app.command("undelivered")
def undelivered(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, help="Also write the list here (CSV, opens in Excel)."),
) -> None:
    """Households whose invitation, reminders or notices did not reach them by chat: to read on
    the loudspeaker or take by hand."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        headers, lines = await _undelivered_lines(session, d, t)
        if not lines:
            console.print(
                t._(
                    "Every invitation, reminder and notice of this dialogue reached its household "
                    "or is still on its way."
                )
            )
        else:
            table = Table(*headers, title=t._("Not delivered: {title}").format(title=d.title))
            for line in lines:
                table.add_row(*line)
            console.print(table)
            console.print(
                t._(
                    "{count} households to reach another way: read on the loudspeaker or "
                    "delivered by hand."
                ).format(count=len({line[0] for line in lines}))
            )
        if out is not None:
            _write_csv(out, headers, lines, t)
            console.print(t._("Written: {path}").format(path=out))

    _go(settings, work)
