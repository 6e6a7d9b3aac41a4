"""Conversation state, keyed by address, so a flow survives restarts and works on every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Conversation, HouseholdLink
from storage.upsert import dialect_insert


@dataclass
class State:
    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Person:
    """Who sent an update, as one query finds them: their account (None before consent), their
    conversation row and whether their chat is linked to a household."""

    account: Account | None
    conversation: Conversation | None
    linked: bool

    @property
    def state(self) -> State:
        row = self.conversation
        return State(row.state, dict(row.data or {})) if row is not None else State()


async def load_person(session: AsyncSession, *, channel: str, user_id: str) -> Person:
    """The account, the conversation and the household link of an address: one round trip."""
    row = (
        await session.execute(
            select(Account, Conversation, HouseholdLink.id)
            .select_from(Account)
            .outerjoin(
                Conversation,
                and_(Conversation.channel == Account.channel, Conversation.user_id == user_id),
            )
            .outerjoin(
                HouseholdLink,
                and_(HouseholdLink.channel == Account.channel, HouseholdLink.user_id == user_id),
            )
            .where(Account.channel == channel, Account.user_id == user_id)
        )
    ).first()
    if row is None:
        return Person(None, None, False)
    return Person(row[0], row[1], row[2] is not None)


async def load_state(session: AsyncSession, *, channel: str, user_id: str) -> State:
    row = await session.get(Conversation, (channel, user_id))
    if row is None:
        return State()
    return State(row.state, dict(row.data or {}))


async def save_state(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    state: State,
    row: Conversation | None = None,
    loaded: bool = False,
) -> None:
    """Store the state; an empty state leaves no row behind (nothing kept that is not needed)
    unless the row holds the choices last shown.

    With `loaded`, `row` is the conversation row as loaded in this transaction (None: there was
    none), and an unchanged state writes nothing.
    """
    if not loaded:
        row = await session.get(Conversation, (channel, user_id))
    if not state.name and not state.data:
        if row is not None and row.sealed_choices is not None:
            row.state, row.data = "", {}
        elif row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(
            Conversation(channel=channel, user_id=user_id, state=state.name, data=state.data)
        )
        return
    if row.state != state.name:
        row.state = state.name
    if (row.data or {}) != state.data:
        row.data = dict(state.data)


async def load_choices(session: AsyncSession, *, channel: str, user_id: str) -> bytes | None:
    """The sealed choices last shown to this address, if any."""
    return await session.scalar(
        select(Conversation.sealed_choices).where(
            Conversation.channel == channel, Conversation.user_id == user_id
        )
    )


async def keep_choices(session: AsyncSession, *, channel: str, user_id: str, sealed: bytes) -> None:
    """Keep these sealed choices as the last shown to this address (one upsert; the row is
    made if the person has none yet, before consent too)."""
    await session.flush()  # a conversation row added or deleted in this session goes first
    statement = dialect_insert(session)(Conversation).values(
        channel=channel, user_id=user_id, state="", data={}, sealed_choices=sealed
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "user_id"],
            set_={"sealed_choices": statement.excluded.sealed_choices},
        )
    )


async def forget_state(session: AsyncSession, *, channel: str, user_id: str) -> None:
    await session.execute(
        delete(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    )
