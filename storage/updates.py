"""Processed-update keys: the dispatcher's once-only guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate
from storage.upsert import upsert


async def claim_update(session: AsyncSession, *, channel: str, key: str, at: datetime) -> bool:
    """Record the update's key in this transaction: True if it is new, False if it was already
    processed (or a twin being processed elsewhere committed it first: on PostgreSQL the insert
    waits for that twin's transaction and then finds the key). One statement."""
    row = {"channel": channel, "key": key, "processed_at": at}
    statement = upsert(session, ProcessedUpdate, keys=["channel", "key"], values=row).returning(
        ProcessedUpdate.key
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
