"""The tables, as typed SQLAlchemy 2 models. Alembic's migrations under migrations/ build them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always read back time-zone aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ProcessedUpdate(Base):
    """An incoming update already handled: inserted in the same transaction as its effects."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Account(Base):
    """A person on one channel who has accepted the consent statement."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_accounts_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    # A random salt for the keyed hash that finds this person's anonymous questions; erased
    # with the account, after which nothing can link those questions to anyone.
    asker_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    consented_on: Mapped[date] = mapped_column(Date)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Where a person is in a flow, and what they have typed so far; keyed by address."""

    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Dialogue(Base):
    """A policy dialogue session, or the standing intake for general questions (kind 'general')."""

    __tablename__ = "dialogues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="session")
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=150)
    venue: Mapped[str] = mapped_column(String(300), default="")
    question_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned, cancelled
    wards: Mapped[list[str]] = mapped_column(JSON, default=list)  # participating wards
    quota_total: Mapped[int] = mapped_column(Integer, default=80)
    # at least this many poor, near-poor or newly-out-of-poverty households (the rest: others)
    quota_priority: Mapped[int] = mapped_column(Integer, default=60)


class Question(Base):
    """A citizen's question.

    An anonymous question holds nothing of its asker: no account, no address, no instant (only
    the day), a random id and ticket. `asker_hash` (keyed, salted) lets the asker list it and
    `reply_handle` (sealed with SECRET_KEY) lets delivery reach them with the answer.
    """

    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket: Mapped[str] = mapped_column(String(12), unique=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))
    topic: Mapped[str] = mapped_column(String(32))
    agency: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    asker_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reply_handle: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="new")
    submitted_on: Mapped[date] = mapped_column(Date)


class OutboxMessage(Base):
    """One message to deliver. Written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "not_before"),
        Index("ix_outbox_recipient", "channel", "recipient", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # permanent idempotency key
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # cleared once sent
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    # The claim that holds the row ("claimed" or "sending"): a random token, so that a process
    # whose lease ran out cannot go on with a row another process has claimed since.
    claim: Mapped[str | None] = mapped_column(String(32))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its slot in the budget
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


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
    """Wrong household codes tried from one address, to throttle guessing."""

    __tablename__ = "link_attempts"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())


class Invitation(Base):
    """A household chosen for a dialogue (or waiting behind those chosen), and its answer."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("dialogue_id", "household_id", name="uq_invitations_dialogue_household"),
        Index("ix_invitations_dialogue_status", "dialogue_id", "status"),
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


class Reminder(Base):
    """One reminder of one dialogue, due at one instant; fired once by whichever tick claims it."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))
    before_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # fired, skipped, cancelled


class RateBudget(Base):
    """The next free sending slot of a channel, shared by every process that sends on it."""

    __tablename__ = "rate_budgets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecipientPace(Base):
    """When a person may next be sent a message (platforms allow about one a second each)."""

    __tablename__ = "recipient_paces"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())
