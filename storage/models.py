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
    # Set by the clock when the dialogue has ended and its unanswered questions went to their
    # agencies with a deadline.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wards: Mapped[list[str]] = mapped_column(JSON, default=list)  # participating wards
    quota_total: Mapped[int] = mapped_column(Integer, default=80)
    # at least this many poor, near-poor or newly-out-of-poverty households (the rest: others)
    quota_priority: Mapped[int] = mapped_column(Integer, default=60)


class Decided:
    """The adoption decision (tiếp thu) on a citizen's proposal or on a commitment: the same
    vocabulary as a consultation theme's (storage/decisions.py), with the reason (required when
    not or partly adopted), what changed in the policy and the day it was decided."""

    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    decision_change: Mapped[str] = mapped_column(Text, default="", server_default="")
    decided_on: Mapped[date | None] = mapped_column(Date)


class Question(Decided, Base):
    """A citizen's question.

    An anonymous question holds nothing of its asker: no account, no address, no instant (only
    the day), a random id and ticket. `asker_hash` (keyed, salted) lets the asker list it and
    `reply_handle` (sealed with SECRET_KEY) lets delivery reach them with the answer.
    """

    __tablename__ = "questions"
    __table_args__ = (
        # The board's pages of a dialogue's questions, the most supported first (read backwards).
        Index("ix_questions_board", "dialogue_id", "supporters", "ticket"),
    )

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
    # new -> approved | rejected | merged; approved -> answered | committed -> fulfilled;
    # reopened when an asker or follower is not satisfied (back to the facilitator)
    status: Mapped[str] = mapped_column(String(16), default="new")
    submitted_on: Mapped[date] = mapped_column(Date)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # never shown in public
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("questions.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    supporters: Mapped[int] = mapped_column(Integer, default=0)  # supports + merged askers
    answered_in_room: Mapped[bool] = mapped_column(Boolean, default=False)
    due_on: Mapped[date | None] = mapped_column(Date)  # the agency's deadline to answer
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """One message to deliver. Written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The queue, in the order claims take it: by status, channel, priority, then age.
        Index("ix_outbox_queue", "status", "channel", "priority", "id"),
        Index("ix_outbox_recipient", "channel", "recipient", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # permanent idempotency key
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first
    # Cleared (SQL NULL) once final. Not written for a row whose fate is unknown that an
    # organiser may resend: a household's invitation, reminder or notice.
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")
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


class Agency(Base):
    """An agency that answers questions (cơ quan): seeded from DOMAIN.md, more can be added.

    The seeded names are catalog message ids, shown through the translator; the names of
    agencies added later are shown as written.
    """

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Staff(Base):
    """An official of an agency or a facilitator of a ward, and the chat that holds the role.

    The role is given by a one-time code (only its SHA-256 is kept) that the person sends with
    /start; until then `channel` and `user_id` are empty.
    """

    __tablename__ = "staff"
    __table_args__ = (Index("ix_staff_address", "channel", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # official, facilitator
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))  # officials
    ward: Mapped[str | None] = mapped_column(String(100))  # facilitators
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Answer(Base):
    """An agency's answer to a question, published to its asker and followers."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_published_at", "published_at"),)  # the feeds

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    agency: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    in_room: Mapped[bool] = mapped_column(Boolean, default=False)  # given at the dialogue
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Commitment(Decided, Base):
    """What an agency commits to do (cam kết), by when and by whom; made in the inbox or at
    the dialogue. `version` grows with each update, so each update reaches people once."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_agency_due", "agency", "due_on", "id"),  # an agency's record
        Index("ix_commitments_made_at", "made_at"),  # the feeds
        Index("ix_commitments_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    question_id: Mapped[str | None] = mapped_column(ForeignKey("questions.id"), index=True)
    agency: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    responsible: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, fulfilled
    progress: Mapped[str] = mapped_column(Text, default="")  # the latest update, if any
    version: Mapped[int] = mapped_column(Integer, default=1)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fulfilled_on: Mapped[date | None] = mapped_column(Date)


class Support(Base):
    """A citizen who pressed "Tôi cũng muốn hỏi": counted, and told of the answer.

    Like an anonymous question it holds no account: the supporter's keyed hash (one support
    per person) and a sealed handle to reach them.
    """

    __tablename__ = "supports"

    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    supporter_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reply_handle: Mapped[bytes | None] = mapped_column(LargeBinary)
    supported_on: Mapped[date] = mapped_column(Date)


class Feedback(Base):
    """ "Hài lòng" / "Chưa hài lòng" on one answer or commitment update, once per person."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("question_id", "about", "giver_hash", name="uq_feedback_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    about: Mapped[str] = mapped_column(String(40))  # "a12" (answer) or "c7.2" (commitment v2)
    giver_hash: Mapped[str] = mapped_column(String(64))
    satisfied: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    given_on: Mapped[date] = mapped_column(Date)  # the day only, like a question


class QuestionEvent(Base):
    """What happened to a question, for the minutes and the record: by which staff member, on
    which day. Citizens' own actions (feedback) carry no one and only the day."""

    __tablename__ = "question_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    on: Mapped[date] = mapped_column(Date)


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


class BoardCount(Base):
    """A kept count of the public board: how many of `name` a dialogue has for an agency,
    by deadline `day` (a date's ordinal; 0 when the count has no deadline).

    Names: asked, shown (published and public), private (sensitive and unanswered),
    answered, late_q (public, unanswered, approved: by their deadline), state:STATUS (public,
    by deadline or earliest open commitment), topic:CODE, commitments, on_time, late_done,
    open (by deadline). The row (-1, "", "version", 0) grows with every change the board shows.
    Maintained in the transaction of the change (storage/board_counts.py)."""

    __tablename__ = "board_counts"
    __table_args__ = (Index("ix_board_counts_agency", "agency", "name"),)  # an agency's page

    dialogue_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class BoardContribution(Base):
    """What one question (with its answers and commitments) or one commitment made for a
    dialogue as a whole ("c<id>") adds to the board's counts, as last counted: a change
    subtracts it and adds the new one."""

    __tablename__ = "board_contributions"

    subject: Mapped[str] = mapped_column(String(40), primary_key=True)
    counts: Mapped[list[Any]] = mapped_column(JSON)  # [[dialogue, agency, name, day, n], ...]


# --- consultation (tham vấn), issue 15 -------------------------------------------------------


class Consultation(Base):
    """A public consultation (tham vấn): its plan, its questionnaire and where it stands.

    `audience` holds the wards, household categories and priority groups it is for (or
    `open`: anyone may answer); `targets` the number of responses wanted per group;
    `questions` the questionnaire as the plan gave it (validated at the edge).
    """

    __tablename__ = "consultations"

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
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, open, closed
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


class VoiceNote(Base):
    """A question asked by voice, not yet written down: where its audio is (a Telegram file id,
    or a Zalo file's address), so that the facilitator can listen to it. Deleted, with every
    copy the service kept, in the step that writes the question down; officials never see it."""

    __tablename__ = "voice_notes"

    question_id: Mapped[str] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    file_ref: Mapped[str] = mapped_column(String(512))
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
