"""The invitations' messages, composed by the database: every selected household's invitation
written to the outbox in one INSERT ... SELECT, in the language of the chat's account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Household, HouseholdLink, Invitation, OutboxMessage
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class InvitationPieces:
    """An invitation's words in one language, cut around the household head's name, so that
    the database can write every household's message itself (see enqueue_invitations)."""

    title: str
    before_name: dict[str, str]  # by gender ("female", "male", ""): the text before the name
    after_name: dict[str, str]  # and after it, to the end of the message
    yes: str
    no: str
    ask: str


def _json(session: AsyncSession):
    """The JSON builders of the dialect: json_object/json_array (SQLite), json_build_* (PG)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.json_build_object, func.json_build_array
    return func.json_object, func.json_array


def _latest_links():
    """Each household's chat used last (where its messages go), in one pass: a window over
    the links rather than a lookup per invitation."""
    return select(
        HouseholdLink.id,
        HouseholdLink.household_id,
        HouseholdLink.channel,
        func.row_number()
        .over(
            partition_by=HouseholdLink.household_id,
            order_by=(HouseholdLink.last_used_at.desc(), HouseholdLink.id.desc()),
        )
        .label("place"),
    ).subquery()


async def enqueue_invitations(
    session: AsyncSession,
    *,
    dialogue_id: int,
    pieces: dict[str, InvitationPieces],
    default_locale: str,
    now: datetime,
    priority: int,
) -> tuple[int, int]:
    """Write the invitation of every selected household with a chat to the outbox and mark
    them invited; those without a chat get "letter".

    The database composes each message from the pieces (in the language of the account behind
    the chat, else the default), in one INSERT ... SELECT, so that inviting a province takes
    no round trip and no memory per household. The outbox key
    invite:{dialogue}:{household}:{channel} is permanent: running it again sends nothing twice.
    Returns (messages queued, letters to print).
    """
    latest = _latest_links()
    body = _body(session, pieces=pieces, default_locale=default_locale)
    rows = _outbox_rows(
        dialogue_id=dialogue_id, body=body, priority=priority, now=now, latest=latest
    )
    insert_for_dialect = dialect_insert(session)
    columns = [
        "key",
        "channel",
        "recipient",
        "priority",
        "body",
        "status",
        "attempts",
        "not_before",
        "created_at",
    ]
    result = await session.execute(
        insert_for_dialect(OutboxMessage.__table__)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    queued = max(result.rowcount or 0, 0)
    letters = await _mark_invited(session, dialogue_id=dialogue_id, now=now, latest=latest)
    return queued, letters


def _body(session: AsyncSession, *, pieces: dict[str, InvitationPieces], default_locale: str):
    """The message's JSON body (text, title, buttons) as an SQL expression over the row's
    household, invitation and account."""
    obj, arr = _json(session)
    text = String()
    invitation_id = cast(Invitation.id, String)
    locale = func.coalesce(Account.locale, default_locale)

    def by_locale_and_gender(part: str):
        """The piece for the row's language and the head's gender."""
        return case(
            *[
                (
                    (locale == loc) & (Household.gender == gender),
                    literal(getattr(words, part)[gender], text),
                )
                for loc, words in pieces.items()
                for gender in ("female", "male")
            ],
            *[
                (locale == loc, literal(getattr(words, part)[""], text))
                for loc, words in pieces.items()
            ],
            else_=literal(getattr(pieces[default_locale], part)[""], text),
        )

    def by_locale(part: str):
        return case(
            *[
                (locale == loc, literal(getattr(words, part), text))
                for loc, words in pieces.items()
            ],
            else_=literal(getattr(pieces[default_locale], part), text),
        )

    return obj(
        literal("text", text),
        by_locale_and_gender("before_name")
        + Household.head_name
        + by_locale_and_gender("after_name"),
        literal("title", text),
        by_locale("title"),
        literal("buttons", text),
        arr(
            arr(arr(by_locale("yes"), literal("r:", text) + invitation_id + literal(":y", text))),
            arr(arr(by_locale("no"), literal("r:", text) + invitation_id + literal(":n", text))),
            arr(arr(by_locale("ask"), literal("m:ask", text))),
        ),
    )


def _outbox_rows(*, dialogue_id: int, body: Any, priority: int, now: datetime, latest: Any):
    """The outbox rows of the dialogue's selected households, one per household's latest chat."""
    text = String()
    return (
        select(
            literal(f"invite:{dialogue_id}:", text)
            + cast(Household.id, String)
            + literal(":", text)
            + HouseholdLink.channel,
            HouseholdLink.channel,
            HouseholdLink.user_id,
            literal(priority, Integer()),
            # A chat known to have blocked the bot is not tried again until the person writes:
            # its invitation is recorded unreachable at once (and listed as undelivered).
            case((Account.unreachable_at.is_not(None), null()), else_=body),
            case(
                (Account.unreachable_at.is_not(None), literal("unreachable", text)),
                else_=literal("pending", text),
            ),
            literal(0, Integer()),
            literal(now, OutboxMessage.__table__.c.not_before.type),
            literal(now, OutboxMessage.__table__.c.created_at.type),
        )
        .select_from(Invitation)
        .join(Household, Household.id == Invitation.household_id)
        .join(
            latest,
            (latest.c.household_id == Invitation.household_id) & (latest.c.place == 1),
        )
        .join(HouseholdLink, HouseholdLink.id == latest.c.id)
        .outerjoin(
            Account,
            (Account.channel == HouseholdLink.channel) & (Account.user_id == HouseholdLink.user_id),
        )
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status == "selected")
    )


async def _mark_invited(
    session: AsyncSession, *, dialogue_id: int, now: datetime, latest: Any
) -> int:
    """Mark the selected households with a chat invited on it, the others "letter"; the
    number of letters."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.dialogue_id == dialogue_id,
            Invitation.status == "selected",
            Invitation.household_id == latest.c.household_id,
            latest.c.place == 1,
        )
        .values(status="invited", channel=latest.c.channel, invited_at=now)
        .execution_options(synchronize_session=False)
    )
    letters = await session.execute(
        update(Invitation)
        .where(Invitation.dialogue_id == dialogue_id, Invitation.status == "selected")
        .values(status="letter", invited_at=now)
        .execution_options(synchronize_session=False)
    )
    return letters.rowcount or 0
