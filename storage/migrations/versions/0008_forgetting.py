"""forgetting: link attempts by keyed hash, chats without consent

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07

`link_attempts` keyed by a keyed hash of the address instead of the address (the throttle
state is short-lived: the old rows are dropped); `unconsented_chats`, the chats to forget
UNCONSENTED_MINUTES after they were last seen without consent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("link_attempts")
    op.create_table(
        "link_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_link_attempts")),
    )
    op.create_index(
        op.f("ix_link_attempts_window_start"), "link_attempts", ["window_start"], unique=False
    )
    op.create_table(
        "unconsented_chats",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_unconsented_chats")),
    )
    op.create_index(
        op.f("ix_unconsented_chats_seen_at"), "unconsented_chats", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_unconsented_chats_seen_at"), table_name="unconsented_chats")
    op.drop_table("unconsented_chats")
    op.drop_index(op.f("ix_link_attempts_window_start"), table_name="link_attempts")
    op.drop_table("link_attempts")
    op.create_table(
        "link_attempts",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_link_attempts")),
    )
