"""Conversation state, keyed by address, so a flow survives restarts and works on every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


@dataclass
class State:
    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


async def load_state(session: AsyncSession, *, channel: str, user_id: str) -> State:
    row = await session.get(Conversation, (channel, user_id))
    if row is None:
        return State()
    return State(row.state, dict(row.data or {}))


async def save_state(session: AsyncSession, *, channel: str, user_id: str, state: State) -> None:
    """Store the state; an empty state leaves no row behind (nothing kept that is not needed)."""
    row = await session.get(Conversation, (channel, user_id))
    if not state.name and not state.data:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(
            Conversation(channel=channel, user_id=user_id, state=state.name, data=state.data)
        )
    else:
        row.state = state.name
        row.data = dict(state.data)


async def forget_state(session: AsyncSession, *, channel: str, user_id: str) -> None:
    await session.execute(
        delete(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    )
