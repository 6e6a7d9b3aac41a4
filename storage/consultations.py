"""Consultations (tham vấn): plans, anonymous responses, opinion themes and adoption decisions.

A response holds no account, address, name or instant: a keyed hash finds it again for its
author (to resume or change it), a sealed handle lets delivery tell them what was adopted, and
the audience group is what the tallies count against the targets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycles import ConsultationStatus, transition
from storage import decisions
from storage.models import (
    Account,
    Consultation,
    ConsultationOpinion,
    ConsultationResponse,
    ConsultationTheme,
    Household,
    HouseholdLink,
)

DECISIONS = decisions.DECISIONS  # shared with a dialogue's proposals and commitments
UNLINKED = "unlinked"


async def create_consultation(
    session: AsyncSession,
    *,
    title: str,
    purpose: str,
    policy: str,
    link: str,
    audience: dict[str, Any],
    targets: dict[str, int],
    questions: list[dict[str, Any]],
    opens_at: datetime,
    closes_at: datetime,
    now: datetime,
) -> Consultation:
    consultation = Consultation(
        title=title,
        purpose=purpose,
        policy=policy,
        link=link,
        audience=audience,
        targets=targets,
        questions=questions,
        opens_at=opens_at,
        closes_at=closes_at,
        status=ConsultationStatus.DRAFT,
        created_at=now,
    )
    session.add(consultation)
    await session.flush()
    return consultation


async def get_consultation(session: AsyncSession, *, consultation_id: int) -> Consultation | None:
    return await session.get(Consultation, consultation_id)


async def list_consultations(session: AsyncSession) -> list[Consultation]:
    return list(await session.scalars(select(Consultation).order_by(Consultation.id)))


async def set_status(
    session: AsyncSession, *, consultation: Consultation, status: str, now: datetime
) -> None:
    """Open or close a consultation (TransitionError if its lifecycle has no such move)."""
    new = ConsultationStatus(status)
    consultation.status = transition(consultation.status, new)
    if new == ConsultationStatus.OPEN and consultation.opened_at is None:
        consultation.opened_at = now
    if new == ConsultationStatus.CLOSED:
        consultation.closed_at = now


def is_open(consultation: Consultation, now: datetime) -> bool:
    """Taking answers: opened by the organiser, and between its opening and closing times."""
    return (
        consultation.status == ConsultationStatus.OPEN
        and consultation.opens_at <= now < consultation.closes_at
    )


def is_for(consultation: Consultation, household: Household | None) -> bool:
    """Whether a person (through their household, or none) is in the audience."""
    audience = consultation.audience or {}
    if audience.get("open"):
        return True
    if household is None:
        return False
    wards = audience.get("wards") or []
    categories = audience.get("categories") or []
    return (not wards or household.ward in wards) and (
        not categories or household.category in categories
    )


async def open_for(
    session: AsyncSession, *, now: datetime, household: Household | None
) -> list[Consultation]:
    """The consultations this person may answer now."""
    rows = await session.scalars(
        select(Consultation)
        .where(
            Consultation.status == ConsultationStatus.OPEN,
            Consultation.opens_at <= now,
            Consultation.closes_at > now,
        )
        .order_by(Consultation.closes_at, Consultation.id)
    )
    return [c for c in rows if is_for(c, household)]


async def response_of(
    session: AsyncSession, *, consultation_id: int, respondent_hash: str
) -> ConsultationResponse | None:
    return await session.scalar(
        select(ConsultationResponse).where(
            ConsultationResponse.consultation_id == consultation_id,
            ConsultationResponse.respondent_hash == respondent_hash,
        )
    )


async def start_response(
    session: AsyncSession,
    *,
    consultation_id: int,
    respondent_hash: str,
    reply_handle: bytes,
    group: str,
    ward: str,
) -> ConsultationResponse:
    """The person's response, created empty on their first answer."""
    found = await response_of(
        session, consultation_id=consultation_id, respondent_hash=respondent_hash
    )
    if found is not None:
        return found
    response = ConsultationResponse(
        id=secrets.token_hex(16),
        consultation_id=consultation_id,
        respondent_hash=respondent_hash,
        reply_handle=reply_handle,
        group=group,
        ward=ward,
        answers={},
        submitted=False,
    )
    session.add(response)
    await session.flush()
    return response


async def save_answers(
    session: AsyncSession, *, response: ConsultationResponse, answers: dict[str, Any]
) -> None:
    # A new dict, so that the JSON column is seen as changed.
    response.answers = dict(answers)
    await session.flush()


async def submit(
    session: AsyncSession,
    *,
    response: ConsultationResponse,
    answers: dict[str, Any],
    text_questions: list[str],
    on: date,
) -> bool:
    """Record the response as sent (again, when changed): its free-text opinions are written
    anew, keeping the theme of an unchanged opinion. True if it was sent for the first time."""
    first = not response.submitted
    response.answers = dict(answers)
    response.submitted = True
    response.submitted_on = on
    kept = {
        (o.question, o.text): o.theme_id
        for o in await session.scalars(
            select(ConsultationOpinion).where(ConsultationOpinion.response_id == response.id)
        )
    }
    await session.execute(
        delete(ConsultationOpinion).where(ConsultationOpinion.response_id == response.id)
    )
    for key in text_questions:
        text = answers.get(key)
        if isinstance(text, str) and text.strip():
            session.add(
                ConsultationOpinion(
                    id=await _opinion_id(session),
                    consultation_id=response.consultation_id,
                    response_id=response.id,
                    question=key,
                    text=text,
                    theme_id=kept.get((key, text)),
                )
            )
    await session.flush()
    return first


OPINION_ID_LENGTH = 10  # hex digits: short enough to type, random so that order says nothing


async def _opinion_id(session: AsyncSession) -> str:
    while True:
        candidate = secrets.token_hex(OPINION_ID_LENGTH // 2)
        if await session.get(ConsultationOpinion, candidate) is None:
            return candidate


async def submitted_responses(
    session: AsyncSession, *, consultation_id: int
) -> list[tuple[str, dict[str, Any]]]:
    """(group, answers) of every sent response, in no meaningful order."""
    rows = await session.execute(
        select(ConsultationResponse.group, ConsultationResponse.answers)
        .where(
            ConsultationResponse.consultation_id == consultation_id,
            ConsultationResponse.submitted.is_(True),
        )
        .order_by(ConsultationResponse.id)
    )
    return [(group, dict(answers or {})) for group, answers in rows]


async def response_counts(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Sent responses per group, for every consultation taking answers or closed."""
    rows = await session.execute(
        select(ConsultationResponse.consultation_id, ConsultationResponse.group, func.count())
        .where(ConsultationResponse.submitted.is_(True))
        .group_by(ConsultationResponse.consultation_id, ConsultationResponse.group)
    )
    counts: dict[int, dict[str, int]] = {}
    for consultation_id, group, n in rows:
        counts.setdefault(consultation_id, {})[group] = n
    return counts


# --- reaching the audience ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    household_id: int
    channel: str
    user_id: str
    locale: str | None


async def audience_chats(session: AsyncSession, *, consultation: Consultation) -> list[Recipient]:
    """The linked households of the audience, each with the chat it used last and the
    language of the account there (None if that chat has no account)."""
    audience = consultation.audience or {}
    conditions = []
    if audience.get("wards"):
        conditions.append(Household.ward.in_(audience["wards"]))
    if audience.get("categories"):
        conditions.append(Household.category.in_(audience["categories"]))
    rows = await session.execute(
        select(
            HouseholdLink.household_id,
            HouseholdLink.channel,
            HouseholdLink.user_id,
            Account.locale,
            Household.gender,
            Household.ethnicity,
        )
        .join(Household, Household.id == HouseholdLink.household_id)
        .outerjoin(
            Account,
            and_(
                Account.channel == HouseholdLink.channel, Account.user_id == HouseholdLink.user_id
            ),
        )
        .where(*conditions)
        .order_by(HouseholdLink.household_id, HouseholdLink.last_used_at, HouseholdLink.id)
    )
    latest: dict[int, tuple[Recipient, bool]] = {}
    priority = set(audience.get("priority") or [])
    for household_id, channel, user_id, locale, gender, ethnicity in rows:
        first = ("female_head" in priority and gender == "female") or (
            "ethnic_minority" in priority and ethnicity not in ("", "Kinh")
        )
        latest[household_id] = (Recipient(household_id, channel, user_id, locale), first)
    # Priority groups first in the queue: they are told before the others.
    ordered = sorted(latest.values(), key=lambda pair: (not pair[1], pair[0].household_id))
    return [recipient for recipient, _first in ordered]


async def reply_handles(session: AsyncSession, *, consultation_id: int) -> list[bytes]:
    """The sealed handles of everyone who sent a response."""
    return [
        handle
        for handle in await session.scalars(
            select(ConsultationResponse.reply_handle).where(
                ConsultationResponse.consultation_id == consultation_id,
                ConsultationResponse.submitted.is_(True),
                ConsultationResponse.reply_handle.is_not(None),
            )
        )
        if handle
    ]


# --- themes and adoption -----------------------------------------------------------------------


async def opinions(session: AsyncSession, *, consultation_id: int) -> list[ConsultationOpinion]:
    return list(
        await session.scalars(
            select(ConsultationOpinion)
            .where(ConsultationOpinion.consultation_id == consultation_id)
            .order_by(ConsultationOpinion.id)
        )
    )


async def themes(session: AsyncSession, *, consultation_id: int) -> list[ConsultationTheme]:
    return list(
        await session.scalars(
            select(ConsultationTheme)
            .where(ConsultationTheme.consultation_id == consultation_id)
            .order_by(ConsultationTheme.id)
        )
    )


async def theme_named(
    session: AsyncSession, *, consultation_id: int, name: str
) -> ConsultationTheme:
    """The theme of this name, created if new."""
    found = await session.scalar(
        select(ConsultationTheme).where(
            ConsultationTheme.consultation_id == consultation_id, ConsultationTheme.name == name
        )
    )
    if found is None:
        found = ConsultationTheme(consultation_id=consultation_id, name=name)
        session.add(found)
        await session.flush()
    return found


async def tag(
    session: AsyncSession, *, consultation_id: int, opinion_ids: list[str], theme_id: int
) -> int:
    """Put these opinions under a theme; how many were found."""
    result = await session.execute(
        update(ConsultationOpinion)
        .where(
            ConsultationOpinion.consultation_id == consultation_id,
            ConsultationOpinion.id.in_(opinion_ids),
        )
        .values(theme_id=theme_id)
    )
    return result.rowcount or 0


async def merge_themes(
    session: AsyncSession, *, consultation_id: int, keep: ConsultationTheme, gone: ConsultationTheme
) -> None:
    await session.execute(
        update(ConsultationOpinion)
        .where(
            ConsultationOpinion.consultation_id == consultation_id,
            ConsultationOpinion.theme_id == gone.id,
        )
        .values(theme_id=keep.id)
    )
    await session.delete(gone)
    await session.flush()


async def decide(
    session: AsyncSession,
    *,
    theme: ConsultationTheme,
    decision: str,
    reason: str,
    change: str,
    on: date,
) -> None:
    """Record a theme's decision; DecisionError (a ValueError) if it cannot be recorded: an
    unknown decision, a refusal without its reason, a text too long (storage.decisions)."""
    decision, reason, change = decisions.checked(decision, reason=reason, change=change)
    theme.decision = decision
    theme.reason = reason
    theme.change = change
    theme.decided_on = on
    await session.flush()


async def theme_counts(session: AsyncSession, *, consultation_id: int) -> dict[int | None, int]:
    """Opinions per theme (None: not yet grouped)."""
    rows = await session.execute(
        select(ConsultationOpinion.theme_id, func.count())
        .where(ConsultationOpinion.consultation_id == consultation_id)
        .group_by(ConsultationOpinion.theme_id)
    )
    return {theme_id: n for theme_id, n in rows}


async def consultation_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(Consultation.id)))


async def forget_respondent(session: AsyncSession, *, hashes: list[str]) -> int:
    """A person deleted their data: their responses stay, counted, with no way back to them
    (no hash to find them, no handle to reach them)."""
    if not hashes:
        return 0
    result = await session.execute(
        update(ConsultationResponse)
        .where(ConsultationResponse.respondent_hash.in_(hashes))
        .values(respondent_hash=None, reply_handle=None)
    )
    return result.rowcount or 0


async def next_untagged(
    session: AsyncSession, *, consultation_id: int, skipped: list[str]
) -> tuple[ConsultationOpinion | None, int]:
    """The first opinion under no theme (but those skipped for now), and how many are left."""
    where = [
        ConsultationOpinion.consultation_id == consultation_id,
        ConsultationOpinion.theme_id.is_(None),
    ]
    if skipped:
        where.append(ConsultationOpinion.id.not_in(skipped))
    first = await session.scalar(
        select(ConsultationOpinion).where(*where).order_by(ConsultationOpinion.id).limit(1)
    )
    left = await session.scalar(select(func.count()).select_from(ConsultationOpinion).where(*where))
    return first, left or 0


async def public_consultations(session: AsyncSession, *, limit: int = 20) -> list[Consultation]:
    """The consultations the board shows (not drafts), the newest first, bounded."""
    return list(
        await session.scalars(
            select(Consultation)
            .where(Consultation.status != ConsultationStatus.DRAFT)
            .order_by(Consultation.id.desc())
            .limit(limit)
        )
    )
