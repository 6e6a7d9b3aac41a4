"""the first dialogue is number 1; heartbeats

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

The standing intake for general questions took id 1 when the schema was created, so the first
dialogue an organiser planned was number 2. On a database where no dialogue has been planned
yet, the intake moves to id 0 (what refers to it follows) and the next dialogue is number 1.
A database that already has dialogues keeps its numbers: people know them.

`heartbeats`: when the clock last ticked, for `doithoai doctor`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    bind = op.get_bind()
    planned = bind.execute(sa.text("SELECT count(*) FROM dialogues WHERE kind <> 'general'"))
    general = bind.execute(sa.text("SELECT id FROM dialogues WHERE kind = 'general'"))
    if planned.scalar() or list(general.scalars()) != [1]:
        return
    inspector = sa.inspect(bind)
    columns = [f'"{c["name"]}"' for c in inspector.get_columns("dialogues")]
    copied = ["0" if c == '"id"' else c for c in columns]
    bind.execute(
        sa.text(
            f"INSERT INTO dialogues ({', '.join(columns)}) "
            f"SELECT {', '.join(copied)} FROM dialogues WHERE id = 1"
        )
    )
    for table in inspector.get_table_names():
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] == "dialogues" and key["referred_columns"] == ["id"]:
                [column] = key["constrained_columns"]
                bind.execute(sa.text(f'UPDATE "{table}" SET "{column}" = 0 WHERE "{column}" = 1'))
    bind.execute(sa.text("DELETE FROM dialogues WHERE id = 1"))
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('dialogues', 'id'), 1, false)"))
    # SQLite (INTEGER PRIMARY KEY): the next id is the largest plus one, 1.


def downgrade() -> None:
    op.drop_table("heartbeats")  # the dialogues' numbers stay as they are
