"""The tables of a public consultation (tham vấn, issue 15): the consultation, its responses, themes
and opinions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.lifecycles import ConsultationStatus
from storage.models.base import Base, UTCDateTime, one_of


class Consultation(Base):
    """A public consultation (tham vấn): its plan, its questionnaire and where it stands.

    `audience` holds the wards, household categories and priority groups it is for (or
    `open`: anyone may answer); `targets` the number of responses wanted per group;
    `questions` the questionnaire as the plan gave it (validated at the edge).
    """

    __tablename__ = "consultations"
    __table_args__ = (one_of(ConsultationStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    policy: Mapped[str] = mapped_column(Text, default="")  # the policy text or its summary
    link: Mapped[str] = mapped_column(String(500), default="")
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    targets: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=ConsultationStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsultationResponse(Base):
    """One person's answers to one consultation, kept unlinkable to them.

    No account, address, name or instant: `respondent_hash` is a keyed hash of the person's
    address salted with their account's salt and the consultation (so two consultations'
    responses cannot be joined either), which finds the response again to resume or change it;
    `reply_handle` is the address sealed with SECRET_KEY, opened only to tell them what was
    adopted. `group` is the audience group counted against the targets (a household category,
    or "unlinked"); groups under 5 responses are never shown apart. Its id is random, so that
    the order of the rows says nothing of who answered when.
    """

    __tablename__ = "consultation_responses"
    __table_args__ = (
        UniqueConstraint(
            "consultation_id", "respondent_hash", name="uq_consultation_responses_respondent"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    respondent_hash: Mapped[str | None] = mapped_column(String(64))
    reply_handle: Mapped[bytes | None] = mapped_column(LargeBinary)
    group: Mapped[str] = mapped_column(String(16), default="unlinked")
    ward: Mapped[str] = mapped_column(String(100), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_on: Mapped[date | None] = mapped_column(Date)  # the day only


class ConsultationTheme(Base):
    """A theme the facilitator grouped free-text opinions under, and its adoption decision
    (tiếp thu): adopted, partly adopted, not adopted (with the reason), under study."""

    __tablename__ = "consultation_themes"
    __table_args__ = (
        UniqueConstraint("consultation_id", "name", name="uq_consultation_themes_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    change: Mapped[str] = mapped_column(Text, default="")  # what changed in the policy
    decided_on: Mapped[date | None] = mapped_column(Date)


class ConsultationOpinion(Base):
    """A free-text answer of a submitted response, to group into themes (no link to anyone:
    the response it came from is itself anonymous). Its id is random and short (10 hex digits,
    what the facilitator types), so that the order of the rows says nothing either."""

    __tablename__ = "consultation_opinions"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    response_id: Mapped[str] = mapped_column(
        ForeignKey("consultation_responses.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_themes.id", ondelete="SET NULL")
    )
