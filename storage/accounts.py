"""Accounts: the people who accepted the consent statement, one per channel address."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account


async def find_account(session: AsyncSession, *, channel: str, user_id: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.channel == channel, Account.user_id == user_id)
    )


async def create_account(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    display_name: str,
    locale: str,
    consented_on: date,
) -> Account:
    account = Account(
        channel=channel,
        user_id=user_id,
        display_name=display_name[:200],
        locale=locale,
        asker_salt=secrets.token_bytes(32),
        consented_on=consented_on,
    )
    session.add(account)
    await session.flush()
    return account


async def mark_unreachable(
    session: AsyncSession, *, channel: str, user_id: str, at: datetime
) -> None:
    await session.execute(
        update(Account)
        .where(Account.channel == channel, Account.user_id == user_id)
        .values(unreachable_at=at)
    )


async def fill_display_name(
    session: AsyncSession, *, channel: str, user_id: str, display_name: str
) -> None:
    """The platform told us the person's name: kept for an account that has none yet."""
    await session.execute(
        update(Account)
        .where(Account.channel == channel, Account.user_id == user_id, Account.display_name == "")
        .values(display_name=display_name[:200])
        .execution_options(synchronize_session=False)
    )


async def delete_account(session: AsyncSession, *, account: Account) -> None:
    """Remove the account row: its name, phone, address and the salt of its asker hash."""
    await session.delete(account)
    await session.flush()


async def addresses_of(session: AsyncSession, *, account_ids: list[int]) -> list[tuple[str, str]]:
    """The (channel, user id) of each of these accounts that still exists."""
    if not account_ids:
        return []
    rows = await session.execute(
        select(Account.channel, Account.user_id).where(Account.id.in_(account_ids))
    )
    return [(channel, user_id) for channel, user_id in rows]


async def locales_of(
    session: AsyncSession, *, addresses: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The language of the account on each (channel, user id) that has one."""
    found: dict[tuple[str, str], str] = {}
    for channel in {c for c, _ in addresses}:
        user_ids = sorted({u for c, u in addresses if c == channel})
        for start in range(0, len(user_ids), 1000):
            rows = await session.execute(
                select(Account.user_id, Account.locale).where(
                    Account.channel == channel, Account.user_id.in_(user_ids[start : start + 1000])
                )
            )
            for user_id, locale in rows:
                found[(channel, user_id)] = locale
    return found
