"""Processed-update keys: the dispatcher's once-only guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


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
