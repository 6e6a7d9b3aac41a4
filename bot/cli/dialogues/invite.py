"""`doithoai dialogue select | status | invite`: choose the households by the quotas, invite
them by chat (sent now on every configured channel) or printed letter, and follow the answers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import _context, _go, _run
from bot.cli.dialogues.common import (
    BarColumn,
    Progress,
    Table,
    TextColumn,
    _cannot_write,
    _dialogue,
    _print_status,
    _status_name,
    asyncio,
    console,
    dialogue_app,
    inv,
    outbox_store,
    reading,
)
from bot.core.i18n import Translator
from storage.topics import TOPICS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings
    from storage.models import Dialogue
    from storage.selection import Selection


@dialogue_app.command("select")
def select_(
    dialogue_id: int = typer.Argument(..., metavar="ID"),
    seed: int = typer.Option(None, help="Seed of the draw (default: the dialogue's id)."),
) -> None:
    """Choose the households to invite by the quotas, with a ranked waitlist."""
    from bot.services.selection import NoCandidates, select_households

    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        d = await _dialogue(session, dialogue_id, t)
        try:
            selection = await select_households(session, dialogue=d, seed=seed)
        except NoCandidates:  # nothing to choose from: say why, select nothing
            console.print(
                t._(
                    "No household of the registry is in {wards}: nothing was selected. Import "
                    "the registry (`doithoai households import FILE`) or check the dialogue's "
                    "wards (`doithoai dialogue show {id}`)."
                ).format(wards=", ".join(d.wards) or t._("any ward"), id=d.id),
                style="red",
            )
            raise typer.Exit(1) from None
        except inv.AlreadyInvited:
            console.print(
                t._("The invitations of this dialogue have gone out: the selection stays."),
                style="red",
            )
            raise typer.Exit(1) from None
        _print_selection(t, d, selection)

    _go(settings, work)


def _print_selection(t: Translator, d: Dialogue, selection: Selection) -> None:
    """The composition per ward against the quotas, the count, and any shortfall."""
    from bot.services.selection import waiting_kept

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
            waiting=waiting_kept(selection, d.quota_total),
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
    from bot.core.clock import utcnow
    from bot.services import Notifier
    from bot.services.invitations import Invitations

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
        result = await Invitations(Notifier.from_settings(settings)).invite(
            session, dialogue=d, now=utcnow()
        )
        written["queued"] = result.queued
        path = letters or Path(f"giay-moi-doi-thoai-{d.id}.docx")
        printed = await _print_letters(session, settings, t, d, path, changed=changed)
        console.print(
            t._(
                "{queued} invitations queued for chats; {letters} printed letters in {path}."
            ).format(queued=result.queued, letters=printed, path=path if printed else "–")
        )

    _go(settings, work)
    if send and written.get("queued"):
        _send_with_progress(settings, t, f"invite:{dialogue_id}:")


async def _print_letters(
    session: AsyncSession,
    settings: Settings,
    t: Translator,
    d: Dialogue,
    path: Path,
    *,
    changed: bool,
) -> int:
    """Write the letters not printed yet (with `changed`, only the new ones of a moved dialogue)
    to `path` and record them printed; how many."""
    from bot.core.clock import utcnow

    invitees = await inv.letters_to_print(session, dialogue_id=d.id, changed=changed)
    if not invitees:
        return 0
    try:
        await _write_letters(settings, t, d, invitees, path)
    except OSError as exc:
        # Nothing is invited either: the letters and the invitations go together.
        _cannot_write(path, exc, t)
    await inv.mark_printed(
        session, invitation_ids=[i.invitation.id for i in invitees], now=utcnow()
    )
    return len(invitees)


async def _bot_username(settings: Settings) -> str:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_token is None:
        from bot.core.config import SettingsError

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
    from bot.core.clock import utcnow
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
    """Deliver now on every configured channel, showing sent / pending / failed / unreachable
    until nothing waits."""

    if settings.telegram_token is None and not settings.zalo_enabled:
        console.print(
            t._("No DOITHOAI_TELEGRAM_TOKEN: the messages wait in the outbox for `doithoai run`.")
        )
        return

    async def main() -> None:
        from bot.runtime import Runtime

        runtime = Runtime(settings)
        try:
            # The households on Zalo are invited now too: what Zalo refuses (its window)
            # shows among the failed, and goes on to the household's Telegram chat if any.
            runtime.add_configured_channels()
            await runtime.start_sending()
            async with _progress(runtime.sessions, t, prefix) as refresh:
                drain = asyncio.create_task(runtime.deliver_all())
                while not drain.done():
                    await refresh()
                    await asyncio.sleep(0.5)
                await drain
                await refresh()
        finally:
            await runtime.close()

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
