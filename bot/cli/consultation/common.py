"""What the `doithoai consultation` commands share: the group, the lazy imports, finding a
consultation, and the names of its statuses, groups and question types."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import Lazy, LazyConsole
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Consultation

# What the commands use, imported when first used: `doithoai --help` imports none of it.
Table = Lazy("rich.table", "Table")
results_module = Lazy("bot.consultation_results")
compute = Lazy("bot.consultation_results", "compute")
percent = Lazy("bot.consultation_results", "percent")
points = Lazy("bot.consultation_results", "points")
store = Lazy("storage.consultations")

consultation_app = typer.Typer(
    no_args_is_help=True, help="Consultations (tham vấn): plan, open, results, reports, adoption."
)
console = LazyConsole()


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


async def _consultation(session: AsyncSession, consultation_id: int, t: Translator) -> Consultation:
    found = await store.get_consultation(session, consultation_id=consultation_id)
    if found is None:
        _fail(t._("There is no consultation {id}.").format(id=consultation_id))
    assert found is not None
    return found


def _now():  # type: ignore[no-untyped-def]
    from bot.core.clock import utcnow

    return utcnow()


def status_name(t: Translator, status: str) -> str:
    return {"draft": t._("draft"), "open": t._("open"), "closed": t._("closed")}.get(status, status)


def _status(c: Consultation) -> str:
    """Its status as it stands: an open consultation past its closing time is closed."""
    return "closed" if c.status == "open" and c.closes_at <= _now() else c.status


def group_name(t: Translator, group: str) -> str:
    return t._(results_module.GROUP_NAMES[group]) if group in results_module.GROUP_NAMES else group


def _audience_line(t: Translator, c: Consultation) -> str:
    audience = c.audience or {}
    parts = []
    if audience.get("wards"):
        parts.append(", ".join(audience["wards"]))
    if audience.get("categories"):
        parts.append(", ".join(group_name(t, g) for g in audience["categories"]))
    if audience.get("open"):
        parts.append(t._("open to anyone"))
    return "; ".join(parts) or "–"


def type_name(t: Translator, kind: str) -> str:
    return {
        "single": t._("single choice"),
        "multiple": t._("multiple choice"),
        "scale": t._("scale 1-5"),
        "text": t._("free text"),
    }.get(kind, kind)
