"""`doithoai dialogue ...`: plan a dialogue, choose and invite the households, follow the
answers, record attendance, move or cancel it. The organiser's side, in the terminal."""

from __future__ import annotations

import contextlib
import csv
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli import Lazy, LazyConsole
from bot.documents.cells import csv_cell, csv_row
from bot.i18n import N_, Translator
from storage.topics import TOPICS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from storage.models import Dialogue

# Imported when first used: `doithoai --help` starts without them.
asyncio = Lazy("asyncio")
BarColumn = Lazy("rich.progress", "BarColumn")
Progress = Lazy("rich.progress", "Progress")
TextColumn = Lazy("rich.progress", "TextColumn")
Table = Lazy("rich.table", "Table")
select = Lazy("sqlalchemy", "select")
digest_store = Lazy("storage.digest")
inv = Lazy("storage.invitations")
outbox_store = Lazy("storage.outbox")
reading = Lazy("storage.db", "reading")
create_dialogue = Lazy("storage.dialogues", "create_dialogue")
get_dialogue = Lazy("storage.dialogues", "get_dialogue")
list_dialogues = Lazy("storage.dialogues", "list_dialogues")
is_minority = Lazy("storage.households", "is_minority")
Household = Lazy("storage.models", "Household")

dialogue_app = typer.Typer(no_args_is_help=True, help="Dialogues: plan, select, invite, follow.")
console = LazyConsole()

GROUP_NAMES = {
    "priority": N_("Poor, near-poor, newly out of poverty"),
    "other": N_("Other households"),
}


def _context() -> tuple[Settings, Translator]:
    from bot.cli import _settings

    settings = _settings()
    return settings, Translator(settings.default_locale, settings.zone)


def _go(settings: Settings, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run `work` in one transaction on a database whose schema is current."""
    from bot.cli import _run

    async def main() -> None:
        from storage.db import create_engine, require_current_schema, session_factory

        engine = create_engine(settings.database_url)
        try:
            await require_current_schema(engine, settings.database_url)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                await work(session)
        finally:
            await engine.dispose()

    _run(main(), settings)


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


def waitlist_depth(total: int) -> int:
    """How many households to keep waiting in each group: twice the session, at least 50."""
    return max(2 * total, 50)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


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
    from bot.cli_names import check_names, refuse, refuse_past
    from bot.dispatcher import utcnow

    settings, t = _context()
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


def _status_name(t: Translator, dialogue: Dialogue) -> str:
    """planned (still to come), under way, past, or cancelled: the same words in every command."""
    from bot.dispatcher import utcnow

    if dialogue.status == "cancelled":
        return t._("cancelled")
    if dialogue.status == "planned" and dialogue.starts_at is not None:
        now = utcnow()
        if dialogue.starts_at <= now:
            ends = dialogue.starts_at + timedelta(minutes=dialogue.duration_minutes or 0)
            return t._("under way") if now < ends else t._("past")
        return t._("planned")
    return dialogue.status


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


@dialogue_app.command("select")
def select_(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    seed: int = typer.Option(None, help="Seed of the draw (default: the dialogue's id)."),
) -> None:
    """Choose the households to invite by the quotas, with a ranked waitlist."""
    from storage.selection import Candidate, select_invitees

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        query = select(
            Household.id, Household.ward, Household.category, Household.gender, Household.ethnicity
        )
        if d.wards:
            query = query.where(Household.ward.in_(d.wards))
        minority = functools.cache(is_minority._load())  # a registry has a few ethnicities
        candidates = [
            Candidate(hid, ward, category, gender == "female", minority(ethnicity))
            for hid, ward, category, gender, ethnicity in await session.execute(query)
        ]
        if not candidates:  # nothing to choose from: say why, select nothing
            console.print(
                t._(
                    "No household of the registry is in {wards}: nothing was selected. Import "
                    "the registry (`doithoai households import FILE`) or check the dialogue's "
                    "wards (`doithoai dialogue show {id}`)."
                ).format(wards=", ".join(d.wards) or t._("any ward"), id=d.id),
                style="red",
            )
            raise typer.Exit(1)
        wards = d.wards or sorted({c.ward for c in candidates})
        selection = select_invitees(
            candidates,
            wards=wards,
            total=d.quota_total,
            minimum_priority=d.quota_priority,
            seed=d.id if seed is None else seed,
        )
        try:
            await inv.save_selection(
                session,
                dialogue_id=d.id,
                chosen=[(p.household_id, p.group, p.rank) for p in selection.invited],
                waiting=[(p.household_id, p.group, p.rank) for p in selection.waitlist],
                waitlist_depth=waitlist_depth(d.quota_total),
            )
        except inv.AlreadyInvited:
            console.print(
                t._("The invitations of this dialogue have gone out: the selection stays."),
                style="red",
            )
            raise typer.Exit(1) from None
        table = Table(
            t._("Ward"),
            t._("Priority group"),
            t._("Others"),
            t._("Women heads"),
            t._("Minorities"),
            title=t._("Households selected for {title}").format(title=d.title),
        )
        for line in selection.lines:
            table.add_row(
                line.ward,
                f"{line.priority} / {line.priority_share}",
                f"{line.other} / {line.other_share}",
                str(line.female),
                str(line.minority),
            )
        priority = sum(1 for p in selection.invited if p.group == "priority")
        others = len(selection.invited) - priority
        table.add_row(
            t._("Total"),
            f"{priority} (≥ {d.quota_priority})",
            f"{others} (≤ {d.quota_total - d.quota_priority})",
            str(sum(line.female for line in selection.lines)),
            str(sum(line.minority for line in selection.lines)),
        )
        console.print(table)
        console.print(
            t._("{invited} households selected of {total}; {waiting} on the waitlist.").format(
                invited=len(selection.invited),
                total=d.quota_total,
                waiting=sum(
                    min(
                        waitlist_depth(d.quota_total),
                        sum(1 for p in selection.waitlist if p.group == g),
                    )
                    for g in ("priority", "other")
                ),
            )
        )
        for shortfall in selection.shortfalls:
            if shortfall.kind == "priority":
                message = t._(
                    "The registry cannot meet the quota: {found} poor, near-poor or newly out of "
                    "poverty households where {wanted} are needed."
                )
            else:
                message = t._(
                    "The registry cannot meet the quota: {found} households where {wanted} are needed."
                )
            console.print(
                message.format(found=shortfall.found, wanted=shortfall.wanted), style="bold red"
            )

    _go(settings, work)


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


@dialogue_app.command("status")
def status(dialogue_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Sent, accepted, declined, no answer, unreachable, against the quotas."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        await _print_status(session, await _dialogue(session, dialogue_id, t), t)

    _go(settings, work)


@dialogue_app.command("invite")
def invite(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    letters: Path = typer.Option(None, help="Where to write the printed letters (DOCX)."),
    changed: bool = typer.Option(
        False,
        "--changed",
        help="Print new letters only for the households holding one with an old time "
        "(after `move`).",
    ),
    send: bool = typer.Option(True, help="Send now with progress (else `doithoai run` sends)."),
) -> None:
    """Invite the selected households: by chat when linked, by printed letter otherwise.

    Letters are printed once: a second run prints only the households not lettered before."""
    from bot.dispatcher import utcnow
    from handlers.invitations import invite_selected

    settings, t = _context()
    written: dict[str, int] = {}

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        if d.status != "planned" or (d.starts_at and d.starts_at <= utcnow()):
            console.print(
                t._("This dialogue is {status}: invitations go only to a dialogue to come.").format(
                    status=_status_name(t, d)
                ),
                style="red",
            )
            raise typer.Exit(1)
        result = await invite_selected(
            session,
            dialogue=d,
            now=utcnow(),
            default_locale=settings.default_locale,
            zone=settings.zone,
        )
        written["queued"] = result.queued
        letter_invitees = await inv.letters_to_print(session, dialogue_id=d.id, changed=changed)
        path = letters or Path(f"giay-moi-doi-thoai-{d.id}.docx")
        if letter_invitees:
            try:
                written["letters"] = await _write_letters(settings, t, d, letter_invitees, path)
            except OSError as exc:
                # Nothing is invited either: the letters and the invitations go together.
                _cannot_write(path, exc, t)
            await inv.mark_printed(
                session,
                invitation_ids=[i.invitation.id for i in letter_invitees],
                now=utcnow(),
            )
        console.print(
            t._(
                "{queued} invitations queued for chats; {letters} printed letters in {path}."
            ).format(
                queued=result.queued,
                letters=len(letter_invitees),
                path=path if letter_invitees else "–",
            )
        )

    _go(settings, work)
    if send and written.get("queued"):
        _send_with_progress(settings, t, f"invite:{dialogue_id}:")


async def _bot_username(settings: Settings) -> str:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_token is None:
        from bot.config import SettingsError

        raise SettingsError(
            "DOITHOAI_TELEGRAM_BOT_USERNAME: required for the letters' links (or set DOITHOAI_TELEGRAM_TOKEN)"
        )
    from telegram import Bot

    async with Bot(
        settings.telegram_token.get_secret_value(), base_url=f"{settings.telegram_api_url}/bot"
    ) as bot:
        return bot.username


async def _write_letters(
    settings: Settings, t: Translator, d: Dialogue, invitees: list[inv.Invitee], path: Path
) -> int:
    from bot.dispatcher import utcnow
    from bot.documents.letters import Letter, LetterDialogue, write_invitation_letters
    from bot.documents.qr import deep_link
    from handlers.language_hint import is_khmer

    username = await _bot_username(settings)
    assert d.starts_at is not None
    issued_on = utcnow().astimezone(settings.zone).date()

    def words(t: Translator) -> LetterDialogue:
        assert d.starts_at is not None
        return LetterDialogue(
            title=d.title,
            when=t.datetime(d.starts_at),
            venue=d.venue,
            topics=[t._(TOPICS[c].name) for c in d.topics if c in TOPICS],
            question_deadline=t.datetime(d.question_deadline) if d.question_deadline else None,
            issuer=t._("PEOPLE'S COMMITTEE OF {ward}").format(ward=", ".join(d.wards).upper())
            if d.wards
            else t._("WARD PEOPLE'S COMMITTEE"),
            superior="",
            place=d.wards[0] if d.wards else "",
            issued_on=issued_on,
            number="",
            signer_title=t._("CHAIRPERSON"),
            signer_name="",
        )

    letters = [
        Letter(
            household_code=i.household.code,
            head_name=i.household.head_name,
            female={"female": True, "male": False}.get(i.household.gender),
            hamlet=i.household.hamlet,
            ward=i.household.ward,
            link=deep_link(username, i.household.link_code),
            khmer=is_khmer(i.household.ethnicity),
        )
        for i in invitees
    ]
    letter_dialogue = words(t)
    if any(letter.khmer for letter in letters):
        # Khmer households' letters carry a Khmer page: the same words in Khmer.
        letter_dialogue = replace(letter_dialogue, khmer=words(Translator("km", settings.zone)))
    return await asyncio.to_thread(write_invitation_letters, path, letter_dialogue, letters, t)


def _send_with_progress(settings: Settings, t: Translator, prefix: str) -> None:
    """Deliver now, showing sent / pending / failed / unreachable until nothing waits."""
    from bot.cli import _run

    if settings.telegram_token is None:
        console.print(
            t._("No DOITHOAI_TELEGRAM_TOKEN: the messages wait in the outbox for `doithoai run`.")
        )
        return

    async def main() -> None:
        from bot.channels.telegram import TelegramChannel
        from bot.dispatcher import utcnow
        from bot.outbox import Outbox
        from storage.db import create_engine, session_factory

        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        assert settings.telegram_token is not None
        telegram = TelegramChannel(
            token=settings.telegram_token.get_secret_value(),
            api_url=settings.telegram_api_url,
            dispatch=None,
            rate=settings.telegram_rate,
            spacing=timedelta(seconds=settings.telegram_chat_interval),
        )
        channels: dict = {"telegram": telegram}
        zalo = None
        if settings.zalo_enabled and settings.secret_key is not None:
            # The households on Zalo are invited now too: what Zalo refuses (its window)
            # shows among the failed, and goes on to the household's Telegram chat if any.
            from bot.channels.zalo import ZaloChannel

            zalo = ZaloChannel(settings=settings, sessions=sessions, clock=utcnow)
            channels["zalo"] = zalo
        outbox = Outbox(sessions, channels, clock=utcnow)

        async def drain_all() -> None:
            # Zalo first: a message its window stops is copied to Telegram, drained after.
            if zalo is not None:
                await outbox.drain("zalo")
            await outbox.drain("telegram")

        try:
            await telegram.application.initialize()
            async with _progress(sessions, t, prefix) as refresh:
                drain = asyncio.create_task(drain_all())
                while not drain.done():
                    await refresh()
                    await asyncio.sleep(0.5)
                await drain
                await refresh()
        finally:
            await telegram.application.shutdown()
            if zalo is not None:
                await zalo.close()
            await engine.dispose()

    _run(main(), settings)


@contextlib.asynccontextmanager
async def _progress(
    sessions, t: Translator, prefix: str
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console.real,
    ) as progress:
        task = progress.add_task(t._("Sending"), total=None, detail="")

        async def refresh() -> None:
            async with reading(sessions) as session:
                rows = await outbox_store.status_counts(session, prefix=prefix)
            total = sum(rows.values())
            done = total - sum(rows.get(s, 0) for s in ("pending", "claimed", "sending"))
            progress.update(
                task,
                total=total,
                completed=done,
                detail=t._(
                    "{sent} sent · {pending} waiting · {failed} failed · {unreachable} unreachable "
                    "· {unknown} unknown"
                ).format(
                    unknown=rows.get("unknown", 0),
                    sent=rows.get("sent", 0),
                    pending=total - done,
                    failed=rows.get("failed", 0) + rows.get("window", 0),
                    unreachable=rows.get("unreachable", 0),
                ),
            )

        yield refresh


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


@dialogue_app.command("attendance")
def attendance(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    file: Path = typer.Argument(..., help="CSV with a column of household codes (Mã hộ)."),
) -> None:
    """Record who came, from a CSV of household codes; nothing is recorded if a line is wrong."""
    from bot.cli import _fail
    from bot.households_import import MAX_REPORTED, UnreadableFile, csv_rows

    settings, t = _context()
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
    from bot.dispatcher import utcnow
    from handlers.invitations import announce_move
    from storage.reminders import cancel_pending, schedule

    settings, t = _context()
    starts_at = _parse_local(start, settings, t, "--start")
    if not allow_past:
        from bot.cli_names import refuse_past

        refuse_past(t, starts_at, utcnow(), "--start")

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        assert d.starts_at is not None
        shift = starts_at - d.starts_at
        d.starts_at = starts_at
        if d.question_deadline is not None:
            d.question_deadline += shift
        if venue:
            d.venue = venue
        now = utcnow()
        await cancel_pending(session, dialogue_id=d.id)
        await schedule(session, dialogue=d, offsets=settings.reminder_offsets, now=now)
        told = await announce_move(
            session, dialogue=d, now=now, default_locale=settings.default_locale, zone=settings.zone
        )
        lettered = await inv.outdate_letters(session, dialogue_id=d.id, now=now)
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
    from bot.dispatcher import utcnow
    from handlers.invitations import announce_cancellation
    from storage.reminders import cancel_pending

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        now = utcnow()
        told = await announce_cancellation(
            session, dialogue=d, now=now, default_locale=settings.default_locale, zone=settings.zone
        )
        lettered = await inv.outdate_letters(session, dialogue_id=d.id, now=now)
        d.status = "cancelled"
        await cancel_pending(session, dialogue_id=d.id)
        await inv.cancel_all(session, dialogue_id=d.id, now=now)
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


def _missed_label(t: Translator, missed: digest_store.Missed) -> str:
    if missed.kind == "invite":
        return t._("Invitation")
    if missed.kind == "remind":
        if missed.reminder is None:
            return t._("Reminder")
        return t._("Reminder ({when})").format(when=t.datetime(missed.reminder.due_at))
    if missed.kind == "moved":
        return t._("Change of time")
    return t._("Dialogue cancelled")


def _missed_reason(t: Translator, missed: digest_store.Missed) -> str:
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


def _as_text(value: str) -> str:
    """A code of digits only kept as text in a spreadsheet, leading zeros and all."""
    return f'="{value}"' if value.isdigit() else csv_cell(value)


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
        found = await digest_store.undelivered(session, dialogue_id=d.id)
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
    from bot.cli import _fail
    from bot.documents.files import NotARegularFile

    if isinstance(exc, NotARegularFile):
        _fail(
            t._(
                "Cannot write {path}: it is not a regular file. Give a new file name or "
                "an existing file."
            ).format(path=path)
        )
    _fail(t._("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc))


# --- adoption decisions (tiếp thu) on proposals and commitments, issue 15 ----------------------

SUBJECT_MAX = 20  # characters of TICKET or c<commitment id>


@dialogue_app.command("decide")
def decide(
    subject: str = typer.Argument(..., metavar="TICKET|c<ID>"),
    decision: str = typer.Option(..., "--decision", help="adopted | partly | not | study"),
    reason: str = typer.Option("", "--reason", help="Why not (required when not adopted)."),
    change: str = typer.Option("", "--change", help="What changed in the policy."),
) -> None:
    """Record the decision on a citizen's proposal (its ticket) or on a commitment (c<id>):
    adopted, partly, not (with the reason) or under study. Its asker and followers are told
    once, each in their language, and the board shows it."""
    import re

    from bot.cli import _fail
    from bot.config import SettingsError, require
    from handlers.decisions import problem_text
    from storage.decisions import DecisionError, checked

    settings, t = _context()
    try:
        decision, reason, change = checked(decision, reason=reason, change=change)
    except DecisionError as exc:
        _fail(problem_text(t, exc))
    text = subject.strip()
    if not text or len(text) > SUBJECT_MAX or not re.fullmatch(r"#?[A-Za-z0-9]+", text):
        _fail(t._("Give a question's ticket or c and a commitment's number, e.g. c12."))
    try:
        require(settings, "secret_key")
    except SettingsError as exc:
        _fail(t._("Configuration error: {detail}").format(detail=exc))

    async def work(session: AsyncSession) -> None:
        from bot.anonymity import Sealer
        from bot.dispatcher import utcnow
        from handlers.decisions import publish_commitment_decision, publish_question_decision
        from storage import dialogue_decisions as store
        from storage.answers import by_ticket
        from storage.models import Question

        commitment_id = None
        if not text.startswith("#"):
            commitment_id = await _commitment_subject(session, text, t)
        commitment = None
        target: Question | None
        if commitment_id is not None:
            commitment = await store.commitment(session, commitment_id=commitment_id)
            assert commitment is not None
            target = None
            if commitment.question_id is not None:
                target = await session.get(Question, commitment.question_id)
            label = f"c{commitment.id}"
        else:
            ticket = text.lstrip("#").upper()
            target = await by_ticket(session, ticket=ticket)
            if target is None:
                _fail(t._("There is no question #{ticket}.").format(ticket=ticket))
            assert target is not None
            label = f"#{target.ticket}"
        now = utcnow()
        on = now.astimezone(settings.zone).date()
        values = dict(decision=decision, reason=reason, change=change, on=on)
        if commitment is not None:
            changed = await store.decide_commitment(session, commitment=commitment, **values)
        elif not store.decidable(target):
            _fail(
                t._(
                    "#{ticket} is not published (new, refused or merged): only an approved "
                    "question gets a decision."
                ).format(ticket=target.ticket)
            )
        else:
            changed = await store.decide_question(session, question=target, **values)
        assert settings.secret_key is not None
        common = dict(
            sealer=Sealer(settings.secret_key.get_secret_value()),
            now=now,
            zone=settings.zone,
            default_locale=settings.default_locale,
        )
        if commitment is not None:
            told = await publish_commitment_decision(
                session, commitment=commitment, question=target, **common
            )
        else:
            assert target is not None
            told = await publish_question_decision(session, question=target, **common)
        from handlers.decisions import DECISION_NAMES

        name = t._(DECISION_NAMES[decision])
        if changed:
            console.print(
                t._("Decision recorded for {subject}: {decision}.").format(
                    subject=label, decision=name
                )
            )
        else:
            console.print(
                t._("The decision on {subject} was already recorded: {decision}.").format(
                    subject=label, decision=name
                )
            )
        console.print(t._("{count} people will be told.").format(count=told))

    _go(settings, work)


async def _commitment_subject(session: AsyncSession, text: str, t: Translator) -> int | None:
    """The commitment `text` names (c<id>), or None when it names a question's ticket. A text
    that could be both (a ticket such as C34679) is refused: write #C34679 for the question."""
    import re

    from bot.cli import _fail
    from storage import dialogue_decisions as store
    from storage.answers import by_ticket

    found = re.fullmatch(r"[cC](\d{1,9})", text)
    if found is None:
        return None
    commitment = await store.commitment(session, commitment_id=int(found.group(1)))
    question = await by_ticket(session, ticket=text)
    if commitment is not None and question is not None:
        _fail(
            t._(
                "{subject} is both a ticket and a commitment: write #{ticket} for the question."
            ).format(subject=text, ticket=question.ticket)
        )
    if commitment is not None:
        return commitment.id
    if question is not None:
        return None
    _fail(t._("There is no question or commitment {subject}.").format(subject=text))
    return None


@dialogue_app.command("decisions")
def decisions_(dialogue_id: int = typer.Argument(..., metavar="ID")) -> None:
    """The decisions taken on a dialogue's proposals and commitments (no asker is shown)."""
    from bot.cli import _fail
    from handlers.decisions import DECISION_NAMES
    from handlers.pushback import excerpt
    from storage.board_agencies import agency_names
    from storage.dialogue_decisions import decided_in
    from storage.topics import AGENCIES

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await get_dialogue(session, dialogue_id=dialogue_id)
        if d is None:
            _fail(t._("There is no dialogue {id}.").format(id=dialogue_id), code=1)
        assert d is not None
        items = await decided_in(session, dialogue_id=d.id)
        if not items:
            console.print(t._("No decision has been recorded in this dialogue yet."))
            return
        names = await agency_names(session)
        table = Table(
            t._("Proposal or commitment"),
            t._("Agency"),
            t._("Decision"),
            t._("Decided on"),
            t._("What changes"),
            t._("Why"),
            title=t._("Decisions: {title}").format(title=d.title),
        )
        for item in items:
            agency = names.get(item.agency, item.agency)
            table.add_row(
                f"{item.label} {excerpt(item.text, 60)}",
                t._(agency) if item.agency in AGENCIES else agency,
                t._(DECISION_NAMES[item.decision]),
                t.short_date(item.decided_on),
                item.change or "–",
                item.reason or "–",
            )
        console.print(table)

    _go(settings, work)
