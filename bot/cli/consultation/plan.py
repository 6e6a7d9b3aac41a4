"""`doithoai consultation create | list | show | open | close`: plan a consultation from a
file, open it (announced to the linked households of its audience) and close it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _go
from bot.cli.consultation.common import (
    Table,
    _audience_line,
    _consultation,
    _fail,
    _now,
    _status,
    console,
    consultation_app,
    group_name,
    status_name,
    store,
    type_name,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@consultation_app.command("create")
def create(
    path: Path = typer.Argument(..., metavar="FILE", help="The plan: .yaml or .xlsx."),
) -> None:
    """Store a consultation plan; a plan with any error is refused whole, every error listed."""
    from bot.consultation_plan import PlanError, read_plan

    settings, t = _context()
    try:
        plan = read_plan(path, t, settings.zone)
    except PlanError as exc:
        typer.echo(
            t.ngettext(
                "The plan was refused ({count} error); nothing was stored:",
                "The plan was refused ({count} errors); nothing was stored:",
                len(exc.errors),
            ).format(count=len(exc.errors)),
            err=True,
        )
        for error in exc.errors:
            typer.echo(f"  {error}", err=True)
        raise typer.Exit(1) from None

    async def work(session: AsyncSession) -> None:
        consultation = await store.create_consultation(
            session,
            title=plan.title,
            purpose=plan.purpose,
            policy=plan.policy,
            link=plan.link,
            audience=plan.audience,
            targets=plan.targets,
            questions=plan.questions,
            opens_at=plan.opens_at,
            closes_at=plan.closes_at,
            now=_now(),
        )
        console.print(
            t._(
                "Consultation {id} created: {title}, {count} questions, from {opens} to {closes}. "
                "Open it with `doithoai consultation open {id}`."
            ).format(
                id=consultation.id,
                title=plan.title,
                count=len(plan.questions),
                opens=t.datetime(plan.opens_at),
                closes=t.datetime(plan.closes_at),
            )
        )

    _go(settings, work)


@consultation_app.command("list")
def list_() -> None:
    """The consultations, with their responses against the targets."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        counts = await store.response_counts(session)
        table = Table(t._("No."), t._("Title"), t._("Open"), t._("Status"), t._("Responses"))
        for c in await store.list_consultations(session):
            got = sum(counts.get(c.id, {}).values())
            target = sum(c.targets.values())
            table.add_row(
                str(c.id),
                c.title,
                f"{t.short_date(c.opens_at)} – {t.short_date(c.closes_at)}",
                status_name(t, _status(c)),
                f"{got}/{target}" if target else str(got),
            )
        console.print(table)

    _go(settings, work)


@consultation_app.command("show")
def show(consultation_id: int = typer.Argument(..., metavar="ID")) -> None:
    """A consultation's plan and questionnaire."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        console.print(f"[bold]{c.title}[/bold] ({status_name(t, _status(c))})", highlight=False)
        if c.purpose:
            console.print(t._("Purpose: {text}").format(text=c.purpose), highlight=False)
        if c.link:
            console.print(t._("Full text: {link}").format(link=c.link), highlight=False)
        console.print(t._("Audience: {audience}").format(audience=_audience_line(t, c)))
        console.print(
            t._("Open from {opens} to {closes}").format(
                opens=t.datetime(c.opens_at), closes=t.datetime(c.closes_at)
            )
        )
        if c.targets:
            console.print(
                t._("Targets: {targets}").format(
                    targets=", ".join(f"{group_name(t, g)} {n}" for g, n in c.targets.items())
                )
            )
        for number, q in enumerate(c.questions, start=1):
            line = f"{number}. [{q['id']}] {q['text']} ({type_name(t, q['type'])})"
            if q.get("choices"):
                line += " — " + " | ".join(q["choices"])
            if q.get("if"):
                line += " — " + t._("only if {question} = {values}").format(
                    question=q["if"]["question"], values=" | ".join(q["if"]["values"])
                )
            if not q.get("required", True):
                line += " — " + t._("may be skipped")
            console.print(line, highlight=False)

    _go(settings, work)


@consultation_app.command("open")
def open_(consultation_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Take answers, and announce it to the linked households of the audience (through the
    outbox, once each: running it again tells only the households linked since)."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        from bot.services.consultations import ConsultationNews
        from bot.services.notifier import Notifier

        c = await _consultation(session, consultation_id, t)
        if c.status == "closed":
            _fail(t._("Consultation {id} is closed; it cannot be opened again.").format(id=c.id))
        now = _now()
        if c.closes_at <= now:
            _fail(t._("Consultation {id} closes in the past; correct the plan.").format(id=c.id))
        await store.set_status(session, consultation=c, status="open", now=now)
        if c.opens_at > now:
            console.print(
                t._(
                    "Consultation {id} will take answers from {opens}. Run this command again "
                    "then to announce it."
                ).format(id=c.id, opens=t.datetime(c.opens_at))
            )
            return
        news = ConsultationNews(Notifier.from_settings(settings))
        added, households = await news.announce(session, consultation=c, now=now)
        console.print(
            t._(
                "Consultation {id} is open. Announcement queued for {added} households "
                "({households} linked households in the audience; the others were told before)."
            ).format(id=c.id, added=added, households=households)
        )

    _go(settings, work)


@consultation_app.command("close")
def close(consultation_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Stop taking answers (the answers stay as they are)."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        await store.set_status(session, consultation=c, status="closed", now=_now())
        console.print(t._("Consultation {id} is closed.").format(id=c.id))

    _go(settings, work)
