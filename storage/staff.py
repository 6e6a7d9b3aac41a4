"""Staff roles (officials of an agency, facilitators of a ward) and the agencies themselves.

A role is given by a one-time code: only its SHA-256 is stored, it works once and it expires.
Whoever holds the chat the code was claimed from holds the role until it is revoked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import StaffCodeStatus, sources, transition
from storage.models import Agency, Staff

ROLES = ("official", "facilitator")
# Staff codes are longer than households' link codes (8) and start with "s", so /start can
# tell the two apart; an alphabet safe in a deep link and read aloud.
CODE_PREFIX = "s"
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 20


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def is_staff_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and code.startswith(CODE_PREFIX)


def new_code() -> str:
    return CODE_PREFIX + "".join(
        secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH - len(CODE_PREFIX))
    )


async def find_active(session: AsyncSession, *, channel: str, user_id: str) -> Staff | None:
    """The role this chat holds now, if any (a chat holds at most one)."""
    return await session.scalar(
        select(Staff)
        .where(
            Staff.channel == channel,
            Staff.user_id == user_id,
            Staff.claimed_at.is_not(None),
            Staff.revoked_at.is_(None),
        )
        .order_by(Staff.claimed_at.desc())
        .limit(1)
    )


async def invite(
    session: AsyncSession,
    *,
    role: str,
    name: str,
    now: datetime,
    valid_for: timedelta,
    agency: str | None = None,
    ward: str | None = None,
) -> tuple[Staff, str]:
    """A new staff member and their one-time code (returned once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if role == "official" and not agency:
        raise ValueError("an official needs an agency")
    if role == "facilitator" and not ward:
        raise ValueError("a facilitator needs a ward")
    code = new_code()
    staff = Staff(
        role=role,
        name=name.strip()[:200],
        agency=agency if role == "official" else None,
        ward=ward.strip() if role == "facilitator" and ward else None,
        code_hash=hash_code(code),
        code_expires_at=now + valid_for,
        created_at=now,
    )
    session.add(staff)
    await session.flush()
    return staff, code


async def claim(
    session: AsyncSession, *, code: str, channel: str, user_id: str, now: datetime
) -> Staff | None:
    """Give the role of `code` to this chat, once; None if the code is unknown, used, expired
    or revoked. A role the chat held before is ended: one chat, one role."""
    staff = await session.scalar(
        select(Staff).where(Staff.code_hash == hash_code(code)).with_for_update()
    )
    # Only a code waiting to be used gives its role (not one in use: that is another chat's).
    if staff is None or status_of(staff, now=now) not in sources(StaffCodeStatus.ACTIVE):
        return None
    await session.execute(
        update(Staff)
        .where(
            Staff.channel == channel,
            Staff.user_id == user_id,
            Staff.revoked_at.is_(None),
            Staff.id != staff.id,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    staff.channel, staff.user_id, staff.claimed_at = channel, user_id, now
    await session.flush()
    return staff


async def list_agencies(session: AsyncSession, *, active_only: bool = True) -> list[Agency]:
    query = select(Agency).order_by(Agency.code)
    if active_only:
        query = query.where(Agency.active.is_(True))
    return list(await session.scalars(query))


async def find_agency(session: AsyncSession, *, code: str) -> Agency | None:
    """The agency of a code, if any (a code longer than any agency's is not looked up)."""
    if not code or len(code) > 32:
        return None
    return await session.get(Agency, code)


# What `staff list` shows for each member: the code not yet used, in use, lapsed, or ended.
WAITING, ACTIVE, EXPIRED, REVOKED = (
    StaffCodeStatus.WAITING,
    StaffCodeStatus.ACTIVE,
    StaffCodeStatus.EXPIRED,
    StaffCodeStatus.REVOKED,
)


def status_of(staff: Staff, *, now: datetime) -> StaffCodeStatus:
    """The code's state, told by the row's times (it has no status column)."""
    if staff.revoked_at is not None:
        return REVOKED
    if staff.claimed_at is not None:
        return ACTIVE
    return EXPIRED if staff.code_expires_at <= now else WAITING


async def find_by_code(session: AsyncSession, *, code: str) -> Staff | None:
    """The staff member a code was given to, whatever became of it (to say why it fails)."""
    return await session.scalar(select(Staff).where(Staff.code_hash == hash_code(code)))


async def list_staff(session: AsyncSession) -> list[Staff]:
    return list(await session.scalars(select(Staff).order_by(Staff.id)))


async def revoke(session: AsyncSession, *, staff_id: int, now: datetime) -> Staff | None:
    """End a role (or cancel a code not yet used); None if there is no such staff member.
    Revoking twice keeps the first date."""
    staff = await session.get(Staff, staff_id)
    if staff is not None and staff.revoked_at is None:
        transition(status_of(staff, now=now), REVOKED)
        staff.revoked_at = now
        await session.flush()
    return staff


# Agency codes appear in buttons' data and commands: short, lower-case letters and digits.
AGENCY_CODE = re.compile(r"[a-z0-9]{2,16}")


def valid_agency_code(code: str) -> bool:
    return AGENCY_CODE.fullmatch(code) is not None


async def add_agency(session: AsyncSession, *, code: str, name: str) -> Agency:
    """A new agency; ValueError if the code is malformed or taken."""
    if not valid_agency_code(code):
        raise ValueError(f"bad agency code {code!r}")
    if await session.get(Agency, code) is not None:
        raise ValueError(f"agency {code!r} exists")
    agency = Agency(code=code, name=name.strip()[:300], active=True)
    session.add(agency)
    await session.flush()
    return agency


async def rename_agency(session: AsyncSession, *, code: str, name: str) -> Agency | None:
    agency = await session.get(Agency, code)
    if agency is not None:
        agency.name = name.strip()[:300]
        await session.flush()
    return agency


async def set_agency_active(session: AsyncSession, *, code: str, active: bool) -> Agency | None:
    """Disable an agency (no longer offered for new staff or questions; what it holds stays)
    or enable it again."""
    agency = await session.get(Agency, code)
    if agency is not None:
        agency.active = active
        await session.flush()
    return agency
