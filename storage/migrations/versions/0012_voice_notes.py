"""voice notes

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07

Questions asked by voice wait here, with where their audio is, until the facilitator writes
them down; the row goes in the same step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_notes",
        sa.Column(
            "question_id",
            sa.String(32),
            sa.ForeignKey("questions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("file_ref", sa.String(512), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("voice_notes")
