"""`doithoai dialogue create | list | show`: plan a dialogue and see it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _go
from bot.cli.dialogues.common import (
    Table,
    _dialogue,
    _parse_local,
    _print_status,
    _split,
    _status_name,
    console,
    create_dialogue,
    dialogue_app,
    list_dialogues,
)
from bot.core.i18n import Translator
from storage.topics import TOPICS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings


@dialogue_app.command("create")
def create(
    title: str = typer.Option(..., help="Title, e.g. 'Đối thoại chính sách giảm nghèo 2026'."),
    start: str = typer.Option(..., help="Start, local time: '2026-12-02 08:00'."),
    venue: str = typer.Option(..., help="Venue."),
    wards: str = typer.Option(..., help="Participating wards, comma separated."),
    duration: int = typer.Option(150, help="Length in minutes."),
    topics: str = typer.Option("", help="Topic codes, comma separated (default: all)."),
    deadline: str = typer.Option("", help="Last moment for questions (default: the day before)."),
    total: int = typer.Option(80, help="Households to invite."),
    priority: int = typer.Option(60, help="Of which at least this many poor/near-poor/new."),
    allow_past: bool = typer.Option(
        False, "--allow-past", help="Accept a start in the past (recording a dialogue held)."
    ),
) -> None:
    """Plan a dialogue."""
    from bot.cli.names import check_names, refuse
    from bot.core.clock import utcnow

    settings, t = _context()
    starts_at, question_deadline = _times(settings, t, start, deadline, allow_past=allow_past)
    topic_codes = list(dict.fromkeys(_split(topics)))
    check_names(topic_codes, list(TOPICS), t, what=t._("topic"), option="--topics")
    ward_names = list(dict.fromkeys(_split(wards)))
    if not ward_names:
        refuse("--wards: " + t._("name at least one ward or commune."))
    if not 0 <= priority <= total:
        raise typer.BadParameter(t._("must be between 0 and --total."), param_hint="--priority")

    async def work(session: AsyncSession) -> None:
        from storage.households import registry_wards
        from storage.reminders import schedule

        known = await registry_wards(session)
        if known:  # before any import there is nothing to check against
            check_names(ward_names, known, t, what=t._("ward"), option="--wards")
        dialogue = await create_dialogue(
            session,
            title=title,
            starts_at=starts_at,
            venue=venue,
            duration=timedelta(minutes=duration),
            question_deadline=question_deadline,
            topics=topic_codes,
            wards=ward_names,
            quota_total=total,
            quota_priority=priority,
        )
        await schedule(session, dialogue=dialogue, offsets=settings.reminder_offsets, now=utcnow())
        console.print(
            t._("Dialogue {id} created: {title}, {when}.").format(
                id=dialogue.id, title=title, when=t.datetime(starts_at)
            )
        )

    _go(settings, work)


def _times(
    settings: Settings, t: Translator, start: str, deadline: str, *, allow_past: bool
) -> tuple[datetime, datetime]:
    """The start and the last moment for questions (default: the day before), checked."""
    from bot.cli.names import refuse, refuse_past
    from bot.core.clock import utcnow

    starts_at = _parse_local(start, settings, t, "--start")
    question_deadline = (
        _parse_local(deadline, settings, t, "--deadline")
        if deadline
        else starts_at - timedelta(days=1)
    )
    if not allow_past:
        refuse_past(t, starts_at, utcnow(), "--start")
        if deadline:
            refuse_past(t, question_deadline, utcnow(), "--deadline")
    if question_deadline > starts_at:
        refuse("--deadline: " + t._("the last moment for questions is after the start."))
    return starts_at, question_deadline


@dialogue_app.command("list")
def list_() -> None:
    """The dialogues, newest first."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        table = Table(t._("No."), t._("Title"), t._("Time"), t._("Wards"), t._("Status"))
        for d in await list_dialogues(session):
            assert d.starts_at is not None
            table.add_row(
                str(d.id), d.title, t.datetime(d.starts_at), ", ".join(d.wards), _status_name(t, d)
            )
        console.print(table)

    _go(settings, work)


@dialogue_app.command("show")
def show(dialogue_id: int = typer.Argument(..., metavar="ID")) -> None:
    """A dialogue's details and where its invitations stand."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        assert d.starts_at is not None
        console.print(f"[bold]{d.title}[/bold]")
        console.print(t._("Time: {when}").format(when=t.datetime(d.starts_at)))
        console.print(t._("Venue: {venue}").format(venue=d.venue))
        console.print(t._("Wards: {wards}").format(wards=", ".join(d.wards) or "–"))
        topics = ", ".join(t._(TOPICS[c].name) for c in d.topics if c in TOPICS)
        console.print(t._("Topics: {topics}").format(topics=topics or t._("all")))
        if d.question_deadline:
            console.print(
                t._("Questions until: {when}").format(when=t.datetime(d.question_deadline))
            )
        console.print(
            t._(
                "Quotas: {total} households, at least {priority} poor, near-poor or newly out of poverty."
            ).format(total=d.quota_total, priority=d.quota_priority)
        )
        console.print(t._("Status: {status}").format(status=_status_name(t, d)))
        await _print_status(session, d, t)

    _go(settings, work)
