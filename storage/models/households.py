"""The tables of the households invited to a dialogue: the registry, the chats linked to a
household, the invitations and their reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.lifecycles import InvitationStatus, ReminderStatus
from storage.models.base import Base, UTCDateTime, one_of


class Household(Base):
    """A household of the registry (hộ gia đình), as the ward's lists give it."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the registry's household code
    head_name: Mapped[str] = mapped_column(String(200))
    gender: Mapped[str] = mapped_column(String(8), default="")  # female, male, or unknown ""
    ethnicity: Mapped[str] = mapped_column(String(40), default="")  # Kinh, Khmer, Hoa, ...
    category: Mapped[str] = mapped_column(String(16))  # poor, near_poor, new_non_poor, other
    ward: Mapped[str] = mapped_column(String(100))
    hamlet: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # normalised: 0xxxxxxxxx
    notes: Mapped[str] = mapped_column(Text, default="")
    # The code of the household's deep link and QR code: random, so that it cannot be guessed
    # from the registry's code.
    link_code: Mapped[str] = mapped_column(String(16), unique=True)


class HouseholdLink(Base):
    """A chat linked to a household: where its invitations and reminders go."""

    __tablename__ = "household_links"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_household_links_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LinkAttempt(Base):
    """Wrong household codes tried from one address, to throttle guessing. The address is kept
    only as a keyed hash (HMAC with SECRET_KEY), and the row goes when its window ends."""

    __tablename__ = "link_attempts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class UnconsentedChat(Base):
    """A chat that wrote without having consented (never, or no longer: after /xoa or a
    refusal). Replies reach it through the outbox, which must hold its address for that;
    UNCONSENTED_MINUTES after it was last seen, the clock forgets the address everywhere
    (storage.personal_data) and this row goes with it."""

    __tablename__ = "unconsented_chats"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Invitation(Base):
    """A household chosen for a dialogue (or waiting behind those chosen), and its answer."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("dialogue_id", "household_id", name="uq_invitations_dialogue_household"),
        Index("ix_invitations_dialogue_status", "dialogue_id", "status"),
        one_of(InvitationStatus),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    group: Mapped[str] = mapped_column(String(16))  # priority (poor, near-poor, new) or other
    rank: Mapped[int] = mapped_column(Integer)  # order within the group: selected, then waitlist
    # selected -> invited | letter -> accepted | declined ; waitlist -> selected ; cancelled
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))  # where the invitation went
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attended: Mapped[bool | None] = mapped_column(Boolean)
    # The household's printed letter (giấy mời): when it was written, and when the time on it
    # went out of date (the dialogue moved or was cancelled) if it has not been printed again.
    letter_printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    letter_outdated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Reminder(Base):
    """One reminder of one dialogue, due at one instant; fired once by whichever tick claims it."""

    __tablename__ = "reminders"
    __table_args__ = (one_of(ReminderStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))
    before_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING)
