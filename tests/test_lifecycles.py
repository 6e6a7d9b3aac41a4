"""The lifecycles: the README's state diagrams say what the table of moves says, the moves it
allows pass and the others are refused, and the models create rows in their initial states."""

from __future__ import annotations

import ast
import re
from enum import StrEnum
from pathlib import Path

import pytest

from bot.core import lifecycles
from bot.core.lifecycles import (
    INITIAL,
    LIFECYCLES,
    MOVES,
    CommitmentStatus,
    ConsultationStatus,
    DialogueStatus,
    InvitationStatus,
    OutboxStatus,
    QuestionStatus,
    ReminderStatus,
    StaffCodeStatus,
    TransitionError,
    allowed,
    moves,
    sources,
    transition,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

DIAGRAM = re.compile(r"```mermaid\n(stateDiagram[^\n]*\n.*?)```", re.DOTALL)
MARK = re.compile(r"^\s*%%\s*lifecycle:\s*(\w+)", re.MULTILINE)
ARROW = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::.*)?$")
START = "[*]"


def _diagrams() -> dict[str, list[str]]:
    """Lifecycle name -> the bodies of the README's state diagrams marked with it. Diagrams
    without a mark draw conversations (the ask flow, a consultation's questionnaire)."""
    found: dict[str, list[str]] = {}
    for body in DIAGRAM.findall(README.read_text(encoding="utf-8")):
        mark = MARK.search(body)
        if mark:
            found.setdefault(mark.group(1), []).append(body)
    return found


def _arrows(body: str) -> set[tuple[str, str]]:
    arrows = set()
    for line in body.splitlines()[1:]:
        if not line.strip() or line.strip().startswith("%%"):
            continue
        match = ARROW.match(line)
        assert match, f"not an arrow: {line!r}"
        arrows.add((match.group(1), match.group(2)))
    return arrows


def _table(kind: type[StrEnum]) -> set[tuple[str, str]]:
    return {(START, s.value) for s in INITIAL[kind]} | {(a.value, b.value) for a, b in moves(kind)}


def _mermaid(arrows: set[tuple[str, str]]) -> str:
    return "\n".join(f"    {a} --> {b}" for a, b in sorted(arrows))


def test_every_lifecycle_has_one_diagram_in_the_readme_and_no_diagram_names_another():
    diagrams = _diagrams()
    names = {kind.__name__ for kind in LIFECYCLES}
    assert set(diagrams) == names
    assert all(len(bodies) == 1 for bodies in diagrams.values()), diagrams


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_the_readme_diagram_draws_exactly_the_moves_of_the_table(kind):
    [body] = _diagrams()[kind.__name__]
    drawn, table = _arrows(body), _table(kind)
    assert drawn == table, (
        f"README's {kind.__name__} diagram differs from bot/core/lifecycles.py:\n"
        f"drawn, not in the table: {sorted(drawn - table)}\n"
        f"in the table, not drawn: {sorted(table - drawn)}\n"
        f"the table's arrows:\n{_mermaid(table)}"
    )


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_the_table_names_every_state_once_and_only_its_own(kind):
    assert set(MOVES[kind]) == set(kind)
    for source, targets in MOVES[kind].items():
        assert all(type(t) is kind for t in targets), source
        assert source not in targets, "staying is not a move: no arrow to itself"
        assert len(set(targets)) == len(targets)
    assert INITIAL[kind] and all(type(s) is kind for s in INITIAL[kind])


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_every_state_can_be_reached(kind):
    reached = set(INITIAL[kind])
    while True:
        more = {b for a, b in moves(kind) if a in reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(kind)


@pytest.mark.parametrize(
    "kind, current, new",
    [
        (kind, current, new)
        for kind in LIFECYCLES
        for current, targets in MOVES[kind].items()
        for new in targets
    ],
)
def test_an_allowed_move_returns_the_new_state(kind, current, new):
    assert allowed(current.value, new)
    assert transition(current.value, new) is new
    assert transition(current, new) is new


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_staying_in_a_state_is_always_allowed(kind):
    for state in kind:
        assert transition(state.value, state) is state


@pytest.mark.parametrize(
    "current, new",
    [
        (QuestionStatus.NEW, QuestionStatus.ANSWERED),  # not before the facilitator approved it
        (QuestionStatus.REJECTED, QuestionStatus.APPROVED),
        (QuestionStatus.FULFILLED, QuestionStatus.COMMITTED),
        (QuestionStatus.ANSWERED, QuestionStatus.NEW),
        (InvitationStatus.CANCELLED, InvitationStatus.ACCEPTED),
        (InvitationStatus.WAITLIST, InvitationStatus.INVITED),
        (InvitationStatus.SELECTED, InvitationStatus.ACCEPTED),
        (CommitmentStatus.FULFILLED, CommitmentStatus.OPEN),
        (OutboxStatus.SENT, OutboxStatus.PENDING),  # never sent twice
        (OutboxStatus.UNKNOWN, OutboxStatus.SENDING),  # never resent without the organiser
        (OutboxStatus.PENDING, OutboxStatus.SENDING),  # only a claimed row is marked
        (DialogueStatus.CANCELLED, DialogueStatus.PLANNED),
        (DialogueStatus.OPEN, DialogueStatus.CANCELLED),  # the standing intake stays open
        (ReminderStatus.FIRED, ReminderStatus.PENDING),
        (ConsultationStatus.CLOSED, ConsultationStatus.OPEN),
        (StaffCodeStatus.REVOKED, StaffCodeStatus.ACTIVE),
        (StaffCodeStatus.EXPIRED, StaffCodeStatus.ACTIVE),
    ],
)
def test_a_forbidden_move_raises_naming_the_lifecycle_and_both_states(current, new):
    assert not allowed(current.value, new)
    with pytest.raises(TransitionError) as raised:
        transition(current.value, new)
    message = str(raised.value)
    assert type(new).__name__ in message
    assert repr(current.value) in message and repr(new.value) in message


def test_a_value_outside_the_lifecycle_is_refused():
    with pytest.raises(TransitionError, match="not a QuestionStatus"):
        transition("closed", QuestionStatus.APPROVED)
    with pytest.raises(TransitionError):
        transition(InvitationStatus.ACCEPTED, QuestionStatus.APPROVED)  # another lifecycle's
    with pytest.raises(TypeError):
        transition("new", "approved")  # type: ignore[type-var]


def test_sources_are_the_states_with_a_move_to_the_target():
    assert sources(ReminderStatus.CANCELLED) == (ReminderStatus.PENDING,)
    assert sources(QuestionStatus.APPROVED) == (QuestionStatus.NEW, QuestionStatus.REOPENED)
    assert set(sources(InvitationStatus.CANCELLED)) == set(InvitationStatus) - {
        InvitationStatus.CANCELLED
    }


def test_a_status_is_the_word_the_database_holds():
    assert QuestionStatus.APPROVED == "approved"
    assert f"{OutboxStatus.UNKNOWN}" == "unknown"
    assert {"open": 1}[CommitmentStatus.OPEN] == 1


def test_the_models_create_rows_in_an_initial_state():
    from storage.models import (
        Commitment,
        Consultation,
        Dialogue,
        OutboxMessage,
        Question,
        Reminder,
    )

    for model, kind in [
        (Question, QuestionStatus),
        (Commitment, CommitmentStatus),
        (OutboxMessage, OutboxStatus),
        (Dialogue, DialogueStatus),
        (Reminder, ReminderStatus),
        (Consultation, ConsultationStatus),
    ]:
        default = model.__table__.c.status.default.arg
        assert default in INITIAL[kind], model


def test_the_outbox_status_of_storage_is_the_lifecycle_s():
    """storage/outbox.py defines `Status = OutboxStatus`: the same states."""
    from storage.outbox import Status

    assert [(s.name, s.value) for s in Status] == [(s.name, s.value) for s in OutboxStatus]


def test_the_lifecycles_module_imports_nothing_from_the_project():
    tree = ast.parse(Path(lifecycles.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert not imported & {"bot", "handlers", "storage", "locales"}, imported
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))


async def test_a_staff_code_gives_its_role_once_and_only_while_it_waits(sqlite_url):
    from datetime import UTC, datetime, timedelta

    from storage import staff
    from storage.db import create_engine, session_factory

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            member, code = await staff.invite(
                session,
                role="facilitator",
                name="Chị Mai",
                ward="Phường 7",
                now=now,
                valid_for=timedelta(days=1),
            )
            late, late_code = await staff.invite(
                session,
                role="facilitator",
                name="Anh Nam",
                ward="Phường 7",
                now=now,
                valid_for=timedelta(hours=1),
            )
            assert staff.status_of(member, now=now) is StaffCodeStatus.WAITING
            claimed = await staff.claim(
                session, code=code, channel="telegram", user_id="1", now=now
            )
            assert claimed is not None
            assert staff.status_of(member, now=now) is StaffCodeStatus.ACTIVE
            again = await staff.claim(session, code=code, channel="zalo", user_id="2", now=now)
            assert again is None and (member.channel, member.user_id) == ("telegram", "1")
            later = now + timedelta(hours=2)
            assert staff.status_of(late, now=later) is StaffCodeStatus.EXPIRED
            expired = await staff.claim(
                session, code=late_code, channel="zalo", user_id="3", now=later
            )
            assert expired is None
            await staff.revoke(session, staff_id=member.id, now=later)
            assert staff.status_of(member, now=later) is StaffCodeStatus.REVOKED
    finally:
        await engine.dispose()
