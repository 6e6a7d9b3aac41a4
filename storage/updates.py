"""Processed-update keys: the dispatcher's once-only guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


async def claim_update(session: AsyncSession, *, channel: str, key: str, at: datetime) -> bool:
    """Record the update's key in this transaction: True if it is new, False if it was already
    processed (or a twin being processed elsewhere committed it first: on PostgreSQL the insert
    waits for that twin's transaction and then finds the key). One statement."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedUpdate)
        .values(channel=channel, key=key, processed_at=at)
        .on_conflict_do_nothing(index_elements=["channel", "key"])
        .returning(ProcessedUpdate.key)
    )
    return (await session.execute(statement)).first() is not None


async def already_processed(session: AsyncSession, *, channel: str, key: str) -> bool:
    found = await session.scalar(
        select(ProcessedUpdate.key).where(
            ProcessedUpdate.channel == channel, ProcessedUpdate.key == key
        )
    )
    return found is not None


async def record_processed(session: AsyncSession, *, channel: str, key: str, at: datetime) -> None:
    """Insert the key; a concurrent twin fails on the primary key at flush, rolling back its effects."""
    session.add(ProcessedUpdate(channel=channel, key=key, processed_at=at))
    await session.flush()
