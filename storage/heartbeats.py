"""Heartbeats: one row per recurring job ("clock"), the last time it ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Heartbeat


async def beat(session: AsyncSession, *, name: str, now: datetime) -> None:
    """Record that `name` ran at `now` (one row, whichever process ran it)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Heartbeat).values(name=name, at=now)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"at": statement.excluded.at})
    )


async def last(session: AsyncSession, *, name: str) -> datetime | None:
    return await session.scalar(select(Heartbeat.at).where(Heartbeat.name == name))
