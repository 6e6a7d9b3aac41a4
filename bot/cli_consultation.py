"""`doithoai consultation ...`: plan a consultation (tham vấn) from a file, open it (announced to
the linked households of its audience), close it, read its results, write its reports, group
its opinions into themes and record what was adopted and why not."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli import Lazy, LazyConsole
from bot.core.lifecycles import ConsultationStatus
from bot.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from bot.consultation_results import Results
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


def _context() -> tuple[Settings, Translator]:
    from bot.cli import _settings

    settings = _settings()
    return settings, Translator(settings.default_locale, settings.zone)


def _go(settings: Settings, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    from bot.cli_dialogues import _go as go

    go(settings, work)


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
    from bot.dispatcher import utcnow

    return utcnow()


def status_name(t: Translator, status: str) -> str:
    return {
        ConsultationStatus.DRAFT: t._("draft"),
        ConsultationStatus.OPEN: t._("open"),
        ConsultationStatus.CLOSED: t._("closed"),
    }.get(status, status)


def _status(c: Consultation) -> str:
    """Its status as it stands: an open consultation past its closing time is closed."""
    if c.status == ConsultationStatus.OPEN and c.closes_at <= _now():
        return ConsultationStatus.CLOSED
    return c.status


def group_name(t: Translator, group: str) -> str:
    return t._(results_module.GROUP_NAMES[group]) if group in results_module.GROUP_NAMES else group


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
        from handlers.consultation_news import announce

        c = await _consultation(session, consultation_id, t)
        if c.status == ConsultationStatus.CLOSED:
            _fail(t._("Consultation {id} is closed; it cannot be opened again.").format(id=c.id))
        now = _now()
        if c.closes_at <= now:
            _fail(t._("Consultation {id} closes in the past; correct the plan.").format(id=c.id))
        await store.set_status(session, consultation=c, status=ConsultationStatus.OPEN, now=now)
        if c.opens_at > now:
            console.print(
                t._(
                    "Consultation {id} will take answers from {opens}. Run this command again "
                    "then to announce it."
                ).format(id=c.id, opens=t.datetime(c.opens_at))
            )
            return
        added, households = await announce(
            session,
            consultation=c,
            now=now,
            zone=settings.zone,
            default_locale=settings.default_locale,
        )
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
        await store.set_status(
            session, consultation=c, status=ConsultationStatus.CLOSED, now=_now()
        )
        console.print(t._("Consultation {id} is closed.").format(id=c.id))

    _go(settings, work)


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
        console.print(
            f"\n[bold]{number}. {q.text}[/bold] "
            + t._("({answered} answers; {margin} points)").format(
                answered=q.answered, margin=points(q.margin, loc)
            ),
            highlight=False,
        )
        if q.type == "text":
            console.print(t._("{count} opinions in words.").format(count=len(q.texts)))
            continue
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
    from bot.config import SettingsError, require

    try:
        require(settings, "secret_key")
    except SettingsError as exc:
        _fail(t._("Configuration error: {detail}").format(detail=exc), code=2)

    async def work(session: AsyncSession) -> None:
        from bot.anonymity import Sealer
        from handlers.consultation_news import push_decisions

        c = await _consultation(session, consultation_id, t)
        assert settings.secret_key is not None
        added = await push_decisions(
            session,
            consultation=c,
            sealer=Sealer(settings.secret_key.get_secret_value()),
            now=_now(),
            zone=settings.zone,
            default_locale=settings.default_locale,
        )
        console.print(
            t._("The decisions were queued for {count} people who answered.").format(count=added)
        )

    _go(settings, work)
