"""choices in conversations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The choices last shown to a person (Zalo's buttons send back their label, or a number) move
from their own table, shown_choices, into the person's conversation row, where the dispatcher
keeps them in the same transaction as the update. They are sealed as before (the same key and
binding, now bot.anonymity.Sealer's), so the rows are moved as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _empty_json() -> str:
    return "CAST('{}' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'{}'"


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("sealed_choices", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE conversations SET sealed_choices = (SELECT s.sealed FROM shown_choices s"
        " WHERE s.channel = conversations.channel AND s.user_id = conversations.user_id)"
    )
    op.execute(
        "INSERT INTO conversations (channel, user_id, state, data, sealed_choices)"
        f" SELECT s.channel, s.user_id, '', {_empty_json()}, s.sealed FROM shown_choices s"
        " WHERE NOT EXISTS (SELECT 1 FROM conversations c"
        " WHERE c.channel = s.channel AND c.user_id = s.user_id)"
    )
    op.drop_table("shown_choices")


def downgrade() -> None:
    op.create_table(
        "shown_choices",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_shown_choices")),
    )
    op.execute(
        "INSERT INTO shown_choices (channel, user_id, sealed, shown_at)"
        " SELECT channel, user_id, sealed_choices, CURRENT_TIMESTAMP FROM conversations"
        " WHERE sealed_choices IS NOT NULL"
    )
    op.execute(
        "DELETE FROM conversations WHERE state = '' AND CAST(data AS TEXT) = '{}'"
        " AND sealed_choices IS NOT NULL"
    )
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("sealed_choices")
