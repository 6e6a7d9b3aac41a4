"""What the room's sub-flows share: the facilitator's open rooms, the checks that a dialogue or
a question is in one of them, the refusals and the way back."""

from __future__ import annotations

import logging

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers import drafts
from handlers.context import Context
from storage import followup
from storage.models import Dialogue, Question, Staff
from storage.support import by_ticket

# The room's refusals are logged under one name, whichever sub-flow refuses.
log = logging.getLogger("handlers.room")

PREFIX = "room."


async def dialogues(ctx: Context, staff: Staff) -> list[Dialogue]:
    return await followup.room_dialogues(ctx.session, ward=staff.ward or "", now=ctx.now)


async def allowed_dialogue(ctx: Context, staff: Staff, dialogue_id: str | int) -> Dialogue | None:
    """The dialogue if its room is this facilitator's and open; otherwise refused and logged."""
    if isinstance(dialogue_id, str):
        dialogue_id = int(dialogue_id) if dialogue_id.isdigit() else -1
    for dialogue in await dialogues(ctx, staff):
        if dialogue.id == dialogue_id:
            return dialogue
    refuse(ctx, staff)
    return None


async def allowed_question(
    ctx: Context, staff: Staff, ticket: str
) -> tuple[Question, Dialogue] | None:
    """The question if it belongs to this facilitator's open room and can still be dealt with."""
    question = await by_ticket(ctx.session, ticket=ticket[:12])
    if question is not None and question.status in followup.ROOM_STATUSES:
        for dialogue in await dialogues(ctx, staff):
            if dialogue.id == question.dialogue_id:
                return question, dialogue
    refuse(ctx, staff)
    return None


def refuse(ctx: Context, staff: Staff) -> None:
    log.warning("refused a room action outside the rooms of facilitator %s", staff.id)
    ctx.notice = ctx.t._("Not available")
    ctx.say(
        ctx.t._(
            "This is not a question or a dialogue of your ward, or the dialogue's room is closed."
        ),
        buttons=[[Button(ctx.t._("🏛 At the dialogue"), btn.ROOM.build())]],
    )


def back(ctx: Context, dialogue_id: int) -> list[Button]:
    return [
        Button(
            ctx.t._("◀️ Back to the questions"),
            btn.ROOM_DIALOGUE.build(step="d", dialogue=dialogue_id, page=0),
        )
    ]


def stale(ctx: Context) -> None:
    ctx.notice = ctx.t._("This button is out of date.")
    ctx.say(
        ctx.t._("That button is from an earlier message."),
        buttons=[[Button(ctx.t._("🏛 At the dialogue"), btn.ROOM.build())]],
    )


def cancel_row(ctx: Context) -> list[Button]:
    return drafts.cancel_row(ctx, btn.ROOM_DRAFT)


def page_nav(ctx: Context, step: str, dialogue: Dialogue, page: int, pages: int) -> list[Button]:
    """Previous / More buttons of a paged list of the dialogue (step "d" or "a")."""
    _ = ctx.t._
    nav = []
    if page > 0:
        at = btn.ROOM_DIALOGUE.build(step=step, dialogue=dialogue.id, page=page - 1)
        nav.append(Button(_("⬅️ Previous"), at))
    if page + 1 < pages:
        nav.append(
            Button(
                _("➡️ More"), btn.ROOM_DIALOGUE.build(step=step, dialogue=dialogue.id, page=page + 1)
            )
        )
    return nav
