"""A platform's OAuth tokens (Zalo OA) as one row per channel, refreshed under that row's lock.

The refresh itself (the request to the platform) is the channel's; here are the steps it takes
on the row, each inside the caller's transaction (these functions never commit):

1. `lock` the row (SELECT … FOR UPDATE on PostgreSQL; on SQLite every transaction is BEGIN
   IMMEDIATE already, which serialises writers), and decide: someone else refreshed meanwhile
   (use their token), someone else is refreshing right now (`refresh_started_at` recent: wait),
   or refresh: `start_refresh` and commit, so the next process sees it;
2. after the platform answered, `save_refreshed` in one transaction: the new access token, the
   new single-use refresh token, their expiry, and `refresh_started_at` cleared.

A `refresh_started_at` older than the channel's lease means a process died between the
platform's answer and the save: its refresh token may be spent. `mark_spent` leaves the
refresh token empty when the platform says so, and nothing refreshes again until an operator
gives new tokens with `set_tokens`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelToken
from storage.upsert import upsert

SPENT = ""  # the refresh token once the platform refused it: only an operator can mend it


async def load(session: AsyncSession, *, channel: str) -> ChannelToken | None:
    """The row as it is, without a lock (to read the current access token)."""
    return await session.scalar(
        select(ChannelToken)
        .where(ChannelToken.channel == channel)
        .execution_options(populate_existing=True)
    )


async def lock(session: AsyncSession, *, channel: str) -> ChannelToken | None:
    """The row, locked until the transaction ends (SQLite: BEGIN IMMEDIATE holds the file)."""
    return await session.scalar(
        select(ChannelToken)
        .where(ChannelToken.channel == channel)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def seed(
    session: AsyncSession,
    *,
    channel: str,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Write the first tokens (from the settings) unless a row exists: the database keeps the
    rotated ones after, and settings never overwrite them."""
    row = {
        "channel": channel,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": expires_at,
        "refresh_started_at": None,
        "updated_at": now,
    }
    await session.execute(upsert(session, ChannelToken, keys=["channel"], values=row))


def start_refresh(row: ChannelToken, *, now: datetime) -> None:
    """Mark the row as being refreshed (commit this before asking the platform)."""
    row.refresh_started_at = now
    row.updated_at = now


def save_refreshed(
    row: ChannelToken,
    *,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """The new pair, in the transaction that holds the row's lock; the refresh is over."""
    row.access_token = access_token
    row.refresh_token = refresh_token
    row.expires_at = expires_at
    row.refresh_started_at = None
    row.updated_at = now


def mark_spent(row: ChannelToken, *, now: datetime) -> None:
    """The platform refused the refresh token for good: refresh no more until `set_tokens`.

    The access token is kept: it goes on working until it expires."""
    row.refresh_token = SPENT
    row.refresh_started_at = None
    row.updated_at = now


def abandon_refresh(row: ChannelToken, *, now: datetime) -> None:
    """The refresh request failed without an answer that spends the token (a network error):
    the stored refresh token is still good, and the next refresh may try it at once."""
    row.refresh_started_at = None
    row.updated_at = now


def is_spent(row: ChannelToken) -> bool:
    return row.refresh_token == SPENT


async def set_tokens(
    session: AsyncSession,
    *,
    channel: str,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """An operator's new tokens (after a refresh token was lost or spent): replace the row's
    pair whatever it holds, and clear any refresh in progress."""
    if not access_token or not refresh_token:
        raise ValueError("both an access token and a refresh token are needed")
    row = await lock(session, channel=channel)
    if row is None:
        session.add(
            ChannelToken(
                channel=channel,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=expires_at,
                refresh_started_at=None,
                updated_at=now,
            )
        )
        await session.flush()
        return
    save_refreshed(
        row, access_token=access_token, refresh_token=refresh_token, expires_at=expires_at, now=now
    )
    await session.flush()
