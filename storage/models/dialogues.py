"""The tables of a dialogue and what is said in it: questions, answers, commitments, supports,
feedback, voice notes, the agencies and their staff, and the public board's kept counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.lifecycles import CommitmentStatus, DialogueStatus, QuestionStatus
from storage.models.base import Base, UTCDateTime, one_of


class Dialogue(Base):
    """A policy dialogue session, or the standing intake for general questions (kind 'general')."""

    __tablename__ = "dialogues"
    __table_args__ = (one_of(DialogueStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="session")
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=150)
    venue: Mapped[str] = mapped_column(String(300), default="")
    question_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=DialogueStatus.PLANNED)
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
        one_of(QuestionStatus),
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
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.NEW)
    submitted_on: Mapped[date] = mapped_column(Date)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # never shown in public
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("questions.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    supporters: Mapped[int] = mapped_column(Integer, default=0)  # supports + merged askers
    answered_in_room: Mapped[bool] = mapped_column(Boolean, default=False)
    due_on: Mapped[date | None] = mapped_column(Date)  # the agency's deadline to answer
    reopen_reason: Mapped[str | None] = mapped_column(Text)


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
        one_of(CommitmentStatus),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    question_id: Mapped[str | None] = mapped_column(ForeignKey("questions.id"), index=True)
    agency: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    responsible: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=CommitmentStatus.OPEN)
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
