"""lifecycle checks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Every status column holds one of its lifecycle's states (bot/core/lifecycles.py): a CHECK
constraint ck_<table>_status per table. The states are written out here as they are today, so
that this migration stays what it was when a lifecycle gains a state (that is a new migration).

Every value older code wrote is among them (the standing intake's dialogue is "open" since
0001). A database holding another value stops the upgrade with the rows' table and values
named, rather than a bare constraint error.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES: dict[str, tuple[str, ...]] = {
    "dialogues": ("planned", "cancelled", "open"),
    "questions": (
        "new",
        "approved",
        "rejected",
        "merged",
        "answered",
        "committed",
        "fulfilled",
        "reopened",
    ),
    "outbox": (
        "pending",
        "claimed",
        "sending",
        "sent",
        "failed",
        "unreachable",
        "unknown",
        "window",
    ),
    "invitations": (
        "waitlist",
        "selected",
        "invited",
        "letter",
        "accepted",
        "declined",
        "cancelled",
    ),
    "reminders": ("pending", "fired", "skipped", "cancelled"),
    "commitments": ("open", "fulfilled"),
    "consultations": ("draft", "open", "closed"),
}


def _condition(states: tuple[str, ...]) -> str:
    return "status IN ({})".format(", ".join(f"'{state}'" for state in states))


def _refuse_strays() -> None:
    bind = op.get_bind()
    strays = []
    for table, states in STATES.items():
        found = bind.execute(
            sa.text(f"SELECT DISTINCT status FROM {table} WHERE NOT ({_condition(states)})")
        ).scalars()
        strays += [f"{table}.status = {value!r}" for value in found]
    if strays:
        raise RuntimeError(
            "rows hold a status outside their lifecycle; correct them, then upgrade again: "
            + ", ".join(strays)
        )


def upgrade() -> None:
    _refuse_strays()
    for table, states in STATES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_status"), _condition(states))


def downgrade() -> None:
    for table in STATES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
