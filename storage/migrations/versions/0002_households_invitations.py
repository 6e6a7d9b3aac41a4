"""households, invitations, reminders, rate budget

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The registry of households and the chats linked to them, invitations with their waitlist,
reminders, and the rate budget and per-recipient pace that every sending process shares.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("head_name", sa.String(length=200), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("ethnicity", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("ward", sa.String(length=100), nullable=False),
        sa.Column("hamlet", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("link_code", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("code", name=op.f("uq_households_code")),
        sa.UniqueConstraint("link_code", name=op.f("uq_households_link_code")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_phone"), ["phone"], unique=False)

    op.create_table(
        "link_attempts",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_link_attempts")),
    )
    op.create_table(
        "rate_budgets",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_rate_budgets")),
    )
    op.create_table(
        "recipient_paces",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_recipient_paces")),
    )
    op.create_table(
        "household_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_links_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_links")),
        sa.UniqueConstraint("channel", "user_id", name="uq_household_links_address"),
    )
    with op.batch_alter_table("household_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_links_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("group", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dialogue_id"], ["dialogues.id"], name=op.f("fk_invitations_dialogue_id_dialogues")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_invitations_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint(
            "dialogue_id", "household_id", name="uq_invitations_dialogue_household"
        ),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitations_dialogue_status", ["dialogue_id", "status"], unique=False
        )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("before_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["dialogue_id"], ["dialogues.id"], name=op.f("fk_reminders_dialogue_id_dialogues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_reminders_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_due_at"), ["due_at"], unique=False)

    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wards", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("quota_total", sa.Integer(), nullable=False, server_default="80")
        )
        batch_op.add_column(
            sa.Column("quota_priority", sa.Integer(), nullable=False, server_default="60")
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("send_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_outbox_recipient", ["channel", "recipient", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_recipient")
        batch_op.drop_column("send_at")
        batch_op.drop_column("claim")

    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.drop_column("quota_priority")
        batch_op.drop_column("quota_total")
        batch_op.drop_column("wards")

    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_due_at"))

    op.drop_table("reminders")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_dialogue_status")

    op.drop_table("invitations")
    with op.batch_alter_table("household_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_links_household_id"))

    op.drop_table("household_links")
    op.drop_table("recipient_paces")
    op.drop_table("rate_budgets")
    op.drop_table("link_attempts")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_phone"))

    op.drop_table("households")
