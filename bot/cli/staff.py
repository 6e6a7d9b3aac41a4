"""`doithoai staff` (invite, list, revoke) and `doithoai agency` (list, add, rename, disable).

A role is given by a one-time code printed here once, with its Telegram deep link: whoever
opens the link (or sends /start with the code) within its validity holds the role. Mistakes in
the options stop with one line naming the problem and exit code 2; an unknown staff member or
agency with exit code 1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

import typer

from bot.cli.common import Lazy, LazyConsole, _context, _go
from bot.core.i18n import N_, Translator
from bot.core.lifecycles import StaffCodeStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


# Imported when first used: `doithoai --help` starts without them.
Table = Lazy("rich.table", "Table")
store = Lazy("storage.staff")

staff_app = typer.Typer(no_args_is_help=True, help="Officials and facilitators: roles by code.")
agency_app = typer.Typer(no_args_is_help=True, help="The agencies that answer questions.")
console = LazyConsole()

ROLES = ("official", "facilitator")  # storage.staff.ROLES
ROLE_NAMES = {"official": N_("official"), "facilitator": N_("facilitator")}
STATUS_NAMES = {
    StaffCodeStatus.WAITING: N_("waiting for its code"),
    StaffCodeStatus.ACTIVE: N_("active"),
    StaffCodeStatus.EXPIRED: N_("code expired"),
    StaffCodeStatus.REVOKED: N_("revoked"),
}


def _refuse(message: str, code: int = 2) -> NoReturn:
    """One line naming the problem, and the exit code."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


async def _agency_codes(session: AsyncSession) -> str:
    return ", ".join(a.code for a in await store.list_agencies(session)) or "–"


async def _place(session: AsyncSession, t: Translator, *, role: str, agency: str, ward: str) -> str:
    """An official's active agency or a facilitator's ward, as shown; one line and exit when
    there is no such agency or ward."""
    from bot.cli.names import closest, unknown_line
    from storage.households import registry_wards

    if role == "official":
        found = await store.find_agency(session, code=agency) if agency else None
        if found is None or not found.active:
            codes = await _agency_codes(session)
            if not agency:
                _refuse(t._("An official needs --agency, one of: {codes}.").format(codes=codes))
            near = closest(agency, codes.split(", "))
            if near:
                _refuse(
                    t._("There is no active agency {code}. Did you mean: {names}?").format(
                        code=agency, names=", ".join(near)
                    )
                )
            _refuse(
                t._("There is no active agency {code}. Agencies: {codes}.").format(
                    code=agency, codes=codes
                )
            )
        return t._(found.name)
    known = await registry_wards(session)
    if known and ward not in known:  # before any import there is nothing to check
        _refuse("--ward: " + unknown_line(t, ward, known, t._("ward")))
    return ward


@staff_app.command("invite")
def invite(
    role: str = typer.Option(..., help="official or facilitator."),
    name: str = typer.Option(..., help="The person's name and title, e.g. 'Chị Hoa, chuyên viên'."),
    agency: str = typer.Option("", help="An official's agency code (see `doithoai agency list`)."),
    ward: str = typer.Option("", help="A facilitator's ward or commune, e.g. 'Phường 7'."),
    days: int = typer.Option(0, help="How many days the code stays valid (default: setting)."),
) -> None:
    """Give a role: prints a one-time code and its link, to hand to that person only."""
    settings, t = _context()
    role = role.strip().lower()
    agency, ward, name = agency.strip().lower(), ward.strip(), name.strip()
    if role not in ROLES:
        _refuse(t._("Unknown role {role}: use official or facilitator.").format(role=role))
    if not name:
        _refuse(t._("--name is empty: give the person's name."))
    if role == "facilitator" and not ward:
        _refuse(t._("A facilitator needs --ward: the ward or commune they facilitate."))
    valid_days = days or settings.staff_code_days
    if not 1 <= valid_days <= 90:
        _refuse(t._("--days must be between 1 and 90."))

    async def work(session: AsyncSession) -> None:
        from bot.cli.dialogues.invite import _bot_username
        from bot.core.clock import utcnow
        from bot.documents.qr import deep_link

        place = await _place(session, t, role=role, agency=agency, ward=ward)
        username = await _bot_username(settings)  # before writing anything
        now = utcnow()
        member, code = await store.invite(
            session,
            role=role,
            name=name,
            agency=agency or None,
            ward=ward or None,
            now=now,
            valid_for=timedelta(days=valid_days),
        )
        typer.echo(
            t._("Code for {name} ({role}, {place}): {code}").format(
                name=member.name, role=t._(ROLE_NAMES[role]), place=place, code=code
            )
        )
        typer.echo(t._("Link: {link}").format(link=deep_link(username, code)))
        typer.echo(
            t._("It works once and expires at {when}. Give it to this person only.").format(
                when=t.datetime(member.code_expires_at)
            )
        )

    _go(settings, work)


@staff_app.command("list")
def list_() -> None:
    """Every staff member, their role and where their code stands."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        from bot.core.clock import utcnow

        now = utcnow()
        agencies = {a.code: a for a in await store.list_agencies(session, active_only=False)}
        table = Table(
            t._("No."),
            t._("Role"),
            t._("Name"),
            t._("Agency or ward"),
            t._("Status"),
            t._("Claimed on"),
        )
        for member in await store.list_staff(session):
            if member.role == "official" and member.agency:
                agency = agencies.get(member.agency)
                where = t._(agency.name) if agency else member.agency
            else:
                where = member.ward or "–"
            table.add_row(
                str(member.id),
                t._(ROLE_NAMES.get(member.role, member.role)),
                member.name,
                where,
                t._(STATUS_NAMES[store.status_of(member, now=now)]),
                t.short_date(member.claimed_at) if member.claimed_at else "–",
            )
        console.print(table)

    _go(settings, work)


@staff_app.command("revoke")
def revoke(staff_id: int = typer.Argument(..., metavar="ID")) -> None:
    """End a staff member's role, or cancel a code not yet used."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        from bot.core.clock import utcnow

        member = await store.revoke(session, staff_id=staff_id, now=utcnow())
        if member is None:
            _refuse(t._("There is no staff member {id}.").format(id=staff_id), 1)
        typer.echo(
            t._("The role of {name} (no. {id}) is revoked.").format(name=member.name, id=member.id)
        )

    _go(settings, work)


@agency_app.command("list")
def agency_list() -> None:
    """The agencies, their codes and whether they are in use."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        table = Table(t._("Code"), t._("Agency"), t._("Status"))
        for agency in await store.list_agencies(session, active_only=False):
            table.add_row(
                agency.code, t._(agency.name), t._("active") if agency.active else t._("disabled")
            )
        console.print(table)

    _go(settings, work)


@agency_app.command("add")
def agency_add(
    code: str = typer.Argument(..., help="Short code: lower-case letters and digits."),
    name: str = typer.Argument(..., help="The agency's full name."),
) -> None:
    """Add an agency that answers questions."""
    settings, t = _context()
    code = code.strip()
    if not store.valid_agency_code(code):
        _refuse(
            t._("The code {code} is not valid: use 2 to 16 lower-case letters or digits.").format(
                code=code
            )
        )
    if not name.strip():
        _refuse(t._("The agency's name is empty."))

    async def work(session: AsyncSession) -> None:
        if await store.find_agency(session, code=code) is not None:
            _refuse(t._("The agency {code} exists already.").format(code=code), 1)
        agency = await store.add_agency(session, code=code, name=name)
        typer.echo(t._("Agency {code} added: {name}.").format(code=agency.code, name=agency.name))

    _go(settings, work)


@agency_app.command("rename")
def agency_rename(
    code: str = typer.Argument(...), name: str = typer.Argument(..., help="The new name.")
) -> None:
    """Give an agency a new name (questions and staff stay with it)."""
    settings, t = _context()
    if not name.strip():
        _refuse(t._("The agency's name is empty."))

    async def work(session: AsyncSession) -> None:
        agency = await store.rename_agency(session, code=code.strip(), name=name)
        if agency is None:
            _refuse(t._("There is no agency {code}.").format(code=code), 1)
        typer.echo(t._("Agency {code} renamed: {name}.").format(code=agency.code, name=agency.name))

    _go(settings, work)


def _set_active(code: str, active: bool) -> None:
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        agency = await store.set_agency_active(session, code=code.strip(), active=active)
        if agency is None:
            _refuse(t._("There is no agency {code}.").format(code=code), 1)
        message = (
            t._("Agency {code} is in use again.")
            if active
            else t._("Agency {code} is disabled: it is no longer offered.")
        )
        typer.echo(message.format(code=agency.code))

    _go(settings, work)


@agency_app.command("disable")
def agency_disable(code: str = typer.Argument(...)) -> None:
    """Stop offering an agency (its questions and staff stay)."""
    _set_active(code, False)


@agency_app.command("enable")
def agency_enable(code: str = typer.Argument(...)) -> None:
    """Offer a disabled agency again."""
    _set_active(code, True)


zalo_app = typer.Typer(no_args_is_help=True, help="The Zalo Official Account's tokens.")


@zalo_app.command("tokens")
def zalo_tokens(
    access_token: str = typer.Option(None, help="Asked for (not echoed) when not given."),
    refresh_token: str = typer.Option(None, help="Asked for (not echoed) when not given."),
    expires_in: int = typer.Option(90_000, help="Seconds the access token is valid (Zalo: 25 h)."),
) -> None:
    """Store a new pair of Zalo tokens, after the refresh token was lost or spent (the log says
    so): get them from the Zalo developers' site and paste them here (they are not echoed)."""
    from datetime import timedelta

    from bot.core.clock import utcnow
    from storage import tokens

    settings, t = _context()
    if not settings.zalo_enabled:
        _refuse(
            t._(
                "Zalo is not configured: set DOITHOAI_ZALO_APP_ID, DOITHOAI_ZALO_APP_SECRET and "
                "DOITHOAI_ZALO_OA_SECRET_KEY first."
            )
        )
    if access_token is None:
        access_token = typer.prompt(t._("Access token"), hide_input=True, default="")
    if refresh_token is None:
        refresh_token = typer.prompt(t._("Refresh token"), hide_input=True, default="")
    if not access_token.strip() or not refresh_token.strip():
        _refuse(t._("Both an access token and a refresh token are needed."))

    async def work(session: AsyncSession) -> None:
        now = utcnow()
        await tokens.set_tokens(
            session,
            channel="zalo",
            access_token=access_token.strip(),
            refresh_token=refresh_token.strip(),
            expires_at=now + timedelta(seconds=expires_in),
            now=now,
        )
        typer.echo(t._("The Zalo tokens are stored; the bot uses them from now on."))

    _go(settings, work)
