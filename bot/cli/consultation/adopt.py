"""`doithoai consultation opinions | theme | merge | decide | publish`: group the opinions
into themes and record what was adopted and why not."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _go
from bot.cli.consultation.common import (
    Table,
    _consultation,
    _fail,
    _now,
    console,
    consultation_app,
    store,
)
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@consultation_app.command("opinions")
def opinions(consultation_id: int = typer.Argument(..., metavar="ID")) -> None:
    """The opinions written in words, numbered, with their theme."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        names = {th.id: th.name for th in await store.themes(session, consultation_id=c.id)}
        table = Table(t._("No."), t._("Question"), t._("Opinion"), t._("Theme"))
        for o in await store.opinions(session, consultation_id=c.id):
            table.add_row(str(o.id), o.question, o.text, names.get(o.theme_id or 0, "–"))
        console.print(table)

    _go(settings, work)


def _opinion_ids(value: str, t: Translator) -> list[str]:
    parts = [p.strip().lower() for p in value.split(",") if p.strip()]
    if not parts or len(parts) > 1000 or not all(re.fullmatch(r"[0-9a-f]{10}", p) for p in parts):
        raise typer.BadParameter(
            t._("give opinion numbers separated by commas"), param_hint="--opinions"
        )
    return parts


def _theme_name(value: str, t: Translator) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 200:
        raise typer.BadParameter(t._("a theme's name is 1 to 200 characters"), param_hint="NAME")
    return name


@consultation_app.command("theme")
def theme(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    name: str = typer.Argument(..., metavar="NAME"),
    opinion_ids: str = typer.Option(
        ...,
        "--opinions",
        help="Opinion numbers as `opinions` lists them, e.g. 3fa2c91b04,77d0e1a9c2.",
    ),
) -> None:
    """Put opinions under a theme (created if new)."""
    settings, t = _context()
    name = _theme_name(name, t)
    wanted = _opinion_ids(opinion_ids, t)

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        found = await store.theme_named(session, consultation_id=c.id, name=name)
        tagged = await store.tag(
            session, consultation_id=c.id, opinion_ids=wanted, theme_id=found.id
        )
        console.print(
            t._("{count} opinions under the theme “{name}”.").format(count=tagged, name=name)
        )
        if tagged < len(set(wanted)):
            console.print(
                t._("Some numbers are not opinions of this consultation."), style="yellow"
            )

    _go(settings, work)


@consultation_app.command("merge")
def merge(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    keep: str = typer.Argument(..., metavar="KEEP"),
    gone: str = typer.Argument(..., metavar="MERGED"),
) -> None:
    """Merge the theme MERGED into KEEP (its opinions move)."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        themes = {th.name: th for th in await store.themes(session, consultation_id=c.id)}
        if keep not in themes or gone not in themes or keep == gone:
            _fail(t._("Give two different themes of this consultation."))
        await store.merge_themes(
            session, consultation_id=c.id, keep=themes[keep], gone=themes[gone]
        )
        console.print(
            t._("The theme “{gone}” is merged into “{keep}”.").format(gone=gone, keep=keep)
        )

    _go(settings, work)


@consultation_app.command("decide")
def decide(
    consultation_id: int = typer.Argument(..., metavar="ID"),
    name: str = typer.Argument(..., metavar="THEME"),
    decision: str = typer.Option(..., "--decision", help="adopted | partly | not | study"),
    reason: str = typer.Option("", "--reason", help="Why not (required when not adopted)."),
    change: str = typer.Option("", "--change", help="What changed in the policy."),
) -> None:
    """Record whether a theme's opinions were adopted (tiếp thu), and if not, why."""
    from handlers.decisions import problem_text
    from storage.decisions import DecisionError, checked

    settings, t = _context()
    try:
        decision, reason, change = checked(decision, reason=reason, change=change)
    except DecisionError as exc:
        _fail(problem_text(t, exc), code=2)

    async def work(session: AsyncSession) -> None:
        c = await _consultation(session, consultation_id, t)
        themes = {th.name: th for th in await store.themes(session, consultation_id=c.id)}
        if name not in themes:
            _fail(t._("There is no theme “{name}” in this consultation.").format(name=name))
        await store.decide(
            session,
            theme=themes[name],
            decision=decision,
            reason=reason,
            change=change,
            on=_now().astimezone(settings.zone).date(),
        )
        console.print(t._("Decision recorded for “{name}”.").format(name=name))

    _go(settings, work)


@consultation_app.command("publish")
def publish(consultation_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Tell everyone who answered what became of the opinions (once per set of decisions); the
    board shows them at /tham-van/ID."""
    settings, t = _context()
    from bot.core.config import SettingsError, require

    try:
        require(settings, "secret_key")
    except SettingsError as exc:
        _fail(t._("Configuration error: {detail}").format(detail=exc), code=2)

    async def work(session: AsyncSession) -> None:
        from bot.services.consultations import ConsultationNews
        from bot.services.notifier import Notifier

        c = await _consultation(session, consultation_id, t)
        assert settings.secret_key is not None
        news = ConsultationNews(Notifier.from_settings(settings))
        added = await news.push_decisions(session, consultation=c, now=_now())
        console.print(
            t._("The decisions were queued for {count} people who answered.").format(count=added)
        )

    _go(settings, work)
