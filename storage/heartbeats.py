"""Heartbeats: one row per recurring job ("clock"), the last time it ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Heartbeat
from storage.upsert import upsert


async def beat(session: AsyncSession, *, name: str, now: datetime) -> None:
    """Record that `name` ran at `now` (one row, whichever process ran it)."""
    await session.execute(
        upsert(session, Heartbeat, keys=["job"], values={"job": name, "at": now}, update=["at"])
    )


async def last(session: AsyncSession, *, name: str) -> datetime | None:
    return await session.scalar(select(Heartbeat.at).where(Heartbeat.job == name))
