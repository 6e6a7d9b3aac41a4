"""`doithoai outbox`: the messages whose fate is unknown, and sending them again when the
organiser decides to.

A message is "unknown" when the process sending it died while its request was on the wire: it
may have arrived or not, so it is never sent again by itself. A household's invitation,
reminder or notice keeps its text in that state, and `resend` queues it again; other messages
(replies, staff notices, the news of questions) keep nothing and are only listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import Lazy, LazyConsole, _context, _go
from bot.cli.dialogues.common import _dialogue
from bot.core.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# Imported when first used: `doithoai --help` starts without them.
Table = Lazy("rich.table", "Table")
undelivered_store = Lazy("storage.undelivered")
outbox_store = Lazy("storage.outbox")

outbox_app = typer.Typer(no_args_is_help=True, help="Messages whose delivery is unknown.")
console = LazyConsole()


def _kind(t: Translator, kind: str) -> str:
    return {
        "invite": t._("Invitation"),
        "remind": t._("Reminder"),
        "moved": t._("Change of time"),
        "cancelled": t._("Dialogue cancelled"),
        "reply": t._("Reply in a chat"),
        "sealed": t._("News of a question"),
    }.get(kind, kind)


@outbox_app.command("unknown")
def unknown(
    dialogue: int = typer.Option(None, "--dialogue", help="Only this dialogue's households."),
) -> None:
    """List the messages that may not have arrived (the sending process died mid-request)."""
    settings, t = _context()

    async def work(session: AsyncSession) -> None:
        if dialogue is not None:
            await _dialogue(session, dialogue, t)
        found = await undelivered_store.unknown_messages(session, dialogue_id=dialogue)
        if not found:
            console.print(t._("No message of unknown fate."))
            return
        table = Table(
            t._("Number"),
            t._("Message"),
            t._("Household code"),
            t._("Head of household"),
            t._("Channel"),
            t._("Queued"),
            t._("Can be resent"),
            title=t._("May not have arrived"),
        )
        for item in found:
            table.add_row(
                str(item.id),
                _kind(t, item.kind),
                item.household.code if item.household else "",
                item.household.head_name if item.household else "",
                item.channel,
                t.datetime(item.created_at),
                t._("yes") if item.resendable else t._("no"),
            )
        console.print(table)
        console.print(
            t._(
                "{count} messages may not have arrived. Nothing is sent again by itself: "
                "`doithoai outbox resend NUMBER…` or `--dialogue ID` queues them again."
            ).format(count=len(found))
        )

    _go(settings, work)


@outbox_app.command("resend")
def resend(
    ids: list[int] = typer.Argument(None, metavar="NUMBER...", help="Numbers from `unknown`."),
    dialogue: int = typer.Option(None, "--dialogue", help="Every one of this dialogue's."),
) -> None:
    """Queue again messages of unknown fate (a household may get one twice): the organiser's
    decision. `doithoai run` sends them."""
    from bot.core.clock import utcnow

    settings, t = _context()
    if not ids and dialogue is None:
        console.print(t._("Give the numbers to send again, or --dialogue ID."), style="red")
        raise typer.Exit(2)

    async def work(session: AsyncSession) -> None:
        chosen = list(ids or [])
        if dialogue is not None:
            await _dialogue(session, dialogue, t)
            found = await undelivered_store.unknown_messages(session, dialogue_id=dialogue)
            chosen += [item.id for item in found]
        queued = await outbox_store.resend(session, ids=chosen, now=utcnow())
        skipped = sorted(set(chosen) - set(queued))
        console.print(
            t._("{count} messages queued again; `doithoai run` sends them.").format(
                count=len(queued)
            )
        )
        if skipped:
            console.print(
                t._(
                    "Not queued (not of unknown fate, or their text was not kept): {numbers}"
                ).format(numbers=", ".join(map(str, skipped)))
            )

    _go(settings, work)
