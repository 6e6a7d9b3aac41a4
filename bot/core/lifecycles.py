"""The lifecycles of what the service keeps, as types: each one's states as a StrEnum, and one
table of the moves allowed between them (MOVES), with the states a row is created in (INITIAL).

A StrEnum member is a str: the database holds the same words as before, and a member compares
equal to the word. CHECK constraints built from these enums hold every row to them
(storage/models.py, migration 0014). The README's state diagrams are checked against this table
by tests/test_lifecycles.py: change both together.

Every status change whose current state is known goes through `transition(current, new)`, which
returns `new` or raises TransitionError; a bulk UPDATE names the states it moves rows from with
`sources(new)`. Staying in a state is not a move and is always allowed (a second answer to an
answered question, a dialogue cancelled twice).

Imports nothing from this project.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar


class QuestionStatus(StrEnum):
    """A citizen's question: the facilitator's (new, reopened), its agency's (approved), done
    with (answered, committed, fulfilled), or set aside (rejected, merged into another)."""

    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"
    ANSWERED = "answered"
    COMMITTED = "committed"
    FULFILLED = "fulfilled"
    REOPENED = "reopened"


class InvitationStatus(StrEnum):
    """A household chosen for a dialogue, or waiting behind those chosen (storage/invitations)."""

    WAITLIST = "waitlist"
    SELECTED = "selected"
    INVITED = "invited"
    LETTER = "letter"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class CommitmentStatus(StrEnum):
    """What an agency committed to do."""

    OPEN = "open"
    FULFILLED = "fulfilled"


class OutboxStatus(StrEnum):
    """Where an outbox row stands (storage/outbox.py)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"
    WINDOW = "window"


class DialogueStatus(StrEnum):
    """A dialogue session (planned, cancelled), or the standing intake of general questions
    (open, for ever). An ended session is told by its `closed_at`, not its status."""

    PLANNED = "planned"
    CANCELLED = "cancelled"
    OPEN = "open"


class ReminderStatus(StrEnum):
    """One reminder of a dialogue: fired once, or skipped (too late, superseded, the dialogue
    not planned), or cancelled with its dialogue."""

    PENDING = "pending"
    FIRED = "fired"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class ConsultationStatus(StrEnum):
    """A public consultation (tham vấn)."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class StaffCodeStatus(StrEnum):
    """A staff member's one-time code and the role it gives. Not a column: told by the row's
    claimed_at, revoked_at and code_expires_at (storage/staff.py, `status_of`)."""

    WAITING = "waiting"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


_Q, _I, _C, _O = QuestionStatus, InvitationStatus, CommitmentStatus, OutboxStatus
_D, _R, _K, _S = DialogueStatus, ReminderStatus, ConsultationStatus, StaffCodeStatus

# The states a row is created in.
INITIAL: Mapping[type[StrEnum], tuple[StrEnum, ...]] = {
    QuestionStatus: (_Q.NEW,),
    InvitationStatus: (_I.SELECTED, _I.WAITLIST),
    CommitmentStatus: (_C.OPEN,),
    # A message to someone who blocked the bot is recorded unreachable at once, never tried.
    OutboxStatus: (_O.PENDING, _O.UNREACHABLE),
    # The general intake is created open by the first migration; sessions are planned.
    DialogueStatus: (_D.PLANNED, _D.OPEN),
    ReminderStatus: (_R.PENDING,),
    ConsultationStatus: (_K.DRAFT,),
    StaffCodeStatus: (_S.WAITING,),
}

# From each state, the states it may move to.
MOVES: Mapping[type[StrEnum], Mapping[StrEnum, tuple[StrEnum, ...]]] = {
    QuestionStatus: {
        # The facilitator decides on a new or reopened question.
        _Q.NEW: (_Q.APPROVED, _Q.REJECTED, _Q.MERGED),
        _Q.REOPENED: (_Q.APPROVED, _Q.REJECTED, _Q.MERGED),
        # An answer or a commitment (the inbox, the room); "not satisfied" with one of its
        # answers or commitments sends a question back to the facilitator, whatever its state
        # since (an answer given before it was reopened can still be judged). An approved
        # question may still join another (storage.moderation.merge; /duyet offers it for new
        # and reopened ones).
        _Q.APPROVED: (_Q.ANSWERED, _Q.COMMITTED, _Q.MERGED, _Q.REOPENED),
        _Q.ANSWERED: (_Q.COMMITTED, _Q.FULFILLED, _Q.REOPENED),
        _Q.COMMITTED: (_Q.FULFILLED, _Q.REOPENED),
        _Q.FULFILLED: (_Q.REOPENED,),
        _Q.REJECTED: (_Q.REOPENED,),
        _Q.MERGED: (_Q.REOPENED,),
    },
    InvitationStatus: {
        _I.WAITLIST: (_I.SELECTED, _I.CANCELLED),
        _I.SELECTED: (_I.INVITED, _I.LETTER, _I.CANCELLED),
        _I.LETTER: (_I.INVITED, _I.ACCEPTED, _I.DECLINED, _I.CANCELLED),
        _I.INVITED: (_I.ACCEPTED, _I.DECLINED, _I.CANCELLED),
        _I.ACCEPTED: (_I.DECLINED, _I.CANCELLED),
        _I.DECLINED: (_I.ACCEPTED, _I.CANCELLED),
        _I.CANCELLED: (),
    },
    CommitmentStatus: {
        _C.OPEN: (_C.FULFILLED,),
        _C.FULFILLED: (),
    },
    OutboxStatus: {
        _O.PENDING: (_O.CLAIMED, _O.UNREACHABLE, _O.FAILED),
        _O.CLAIMED: (_O.SENDING, _O.PENDING, _O.FAILED),
        _O.SENDING: (
            _O.SENT,
            _O.PENDING,
            _O.FAILED,
            _O.UNREACHABLE,
            _O.WINDOW,
            _O.UNKNOWN,
        ),
        _O.UNKNOWN: (_O.PENDING, _O.FAILED),
        _O.SENT: (),
        _O.FAILED: (),
        _O.UNREACHABLE: (),
        _O.WINDOW: (),
    },
    DialogueStatus: {
        _D.PLANNED: (_D.CANCELLED,),
        _D.CANCELLED: (),
        _D.OPEN: (),
    },
    ReminderStatus: {
        _R.PENDING: (_R.FIRED, _R.SKIPPED, _R.CANCELLED),
        _R.FIRED: (),
        _R.SKIPPED: (),
        _R.CANCELLED: (),
    },
    ConsultationStatus: {
        _K.DRAFT: (_K.OPEN, _K.CLOSED),
        _K.OPEN: (_K.CLOSED,),
        _K.CLOSED: (),
    },
    StaffCodeStatus: {
        _S.WAITING: (_S.ACTIVE, _S.EXPIRED, _S.REVOKED),
        # A role ends when it is revoked, or when its chat takes another role.
        _S.ACTIVE: (_S.REVOKED,),
        _S.EXPIRED: (_S.REVOKED,),
        _S.REVOKED: (),
    },
}

LIFECYCLES: tuple[type[StrEnum], ...] = tuple(MOVES)

S = TypeVar("S", bound=StrEnum)


class TransitionError(ValueError):
    """A move its lifecycle does not allow, or a state it does not have."""


def _kind(new: StrEnum) -> type[StrEnum]:
    kind = type(new)
    if kind not in MOVES:
        raise TypeError(f"{kind.__name__} is not a lifecycle")
    return kind


def _state(kind: type[S], value: str) -> S | None:
    try:
        return kind(value)
    except ValueError:
        return None


def allowed(current: str, new: StrEnum) -> bool:
    """Whether a thing of `new`'s lifecycle may go from `current` to `new` (staying is)."""
    kind = _kind(new)
    state = _state(kind, current)
    return state is not None and (state is new or new in MOVES[kind][state])


def transition(current: str, new: S) -> S:
    """`new`, the state to write, if the move from `current` is allowed; TransitionError if not.

    The lifecycle is `new`'s enum: `question.status = transition(question.status, Q.ANSWERED)`.
    """
    if allowed(current, new):
        return new
    kind = _kind(new)
    state = _state(kind, current)
    if state is None:
        raise TransitionError(f"{current!r} is not a {kind.__name__}")
    moves = ", ".join(MOVES[kind][state]) or "none"
    raise TransitionError(
        f"{kind.__name__}: no move from {current!r} to {new.value!r} (allowed: {moves})"
    )


def sources(new: S) -> tuple[S, ...]:
    """The states from which a move to `new` is allowed (not `new` itself), in the enum's order:
    what a bulk UPDATE to `new` may match."""
    kind = _kind(new)
    return tuple(s for s in kind if new in MOVES[kind][s])  # type: ignore[misc]


def moves(kind: type[StrEnum]) -> set[tuple[StrEnum, StrEnum]]:
    """Every allowed (from, to) of a lifecycle."""
    return {(a, b) for a, targets in MOVES[kind].items() for b in targets}
