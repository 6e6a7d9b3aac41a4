"""The tables of the service's machinery: incoming updates and events, accounts and conversations,
the outbox and its rate budgets, channel tokens, daily jobs and heartbeats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.lifecycles import OutboxStatus
from storage.models.base import Base, UTCDateTime, one_of


class ProcessedUpdate(Base):
    """An incoming update already handled: inserted in the same transaction as its effects."""

    __tablename__ = "processed_updates"
    __table_args__ = (Index("ix_processed_updates_processed_at", "processed_at"),)

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
    # The choices last shown on a channel whose buttons send back text (Zalo's label, or a
    # number): what each label and number stands for, sealed with SECRET_KEY (button data names
    # tickets) and bound to the person; replaced by the next choices shown. A row may hold
    # only these (before consent too: the unconsented sweep deletes it).
    sealed_choices: Mapped[bytes | None] = mapped_column(LargeBinary)


class OutboxMessage(Base):
    """One message to deliver. Written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The queue, in the order claims take it: by status, channel, priority, then age.
        Index("ix_outbox_queue", "status", "channel", "priority", "id"),
        Index("ix_outbox_recipient", "channel", "recipient", "status"),
        one_of(OutboxStatus),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # permanent idempotency key
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first
    # Cleared (SQL NULL) once final. Not written for a row whose fate is unknown that an
    # organiser may resend: a household's invitation, reminder or notice.
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed tries so far
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    # The claim that holds the row ("claimed" or "sending"): a random token, so that a process
    # whose lease ran out cannot go on with a row another process has claimed since.
    claim: Mapped[str | None] = mapped_column(String(32))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when last marked sending
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


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


class DailyJob(Base):
    """A once-a-day message already written (a digest, an overdue reminder): its key is
    inserted in the transaction that writes it, so no restart or second process repeats it."""

    __tablename__ = "daily_jobs"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChannelToken(Base):
    """A platform's OAuth tokens (Zalo OA): the access token and the single-use refresh token.

    Refreshing happens with this row locked, and the new pair is written in the transaction
    that took the lock, so no two processes refresh at once. `refresh_started_at` is committed
    before the refresh request: if it is still set when the row is next locked, a process died
    between Zalo's answer and the save, and the refresh token it held may be spent.
    """

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncomingEvent(Base):
    """A webhook event accepted and not yet processed: written before the webhook answers, so
    an event survives the process dying; deleted once processed (it holds a person's text)."""

    __tablename__ = "incoming_events"
    __table_args__ = (
        UniqueConstraint("channel", "key", name="uq_incoming_events_key"),
        Index("ix_incoming_events_sender", "sender", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))  # the platform's id of the event
    # A keyed hash of who sent it ("" if unknown): one person's events are processed in order,
    # one at a time, whichever process claims them.
    sender: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the raw request body, as signed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Heartbeat(Base):
    """When a recurring piece of the service last did its work (the clock's tick), so that
    `doithoai doctor` can tell an operator whether it runs."""

    __tablename__ = "heartbeats"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)  # "clock"
    at: Mapped[datetime] = mapped_column(UTCDateTime())
