"""consultations

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-07

Consultation by chat (tham vấn): the plans and questionnaires, the anonymous responses (a
keyed hash and a sealed handle, no account, a random id), the themes of free-text opinions and
their adoption decisions (tiếp thu).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    op.create_table(
        "consultation_responses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("respondent_hash", sa.String(length=64), nullable=True),
        sa.Column("reply_handle", sa.LargeBinary(), nullable=True),
        sa.Column("group", sa.String(length=16), nullable=False),
        sa.Column("ward", sa.String(length=100), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted", sa.Boolean(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_responses_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_responses")),
        sa.UniqueConstraint(
            "consultation_id", "respondent_hash", name="uq_consultation_responses_respondent"
        ),
    )
    with op.batch_alter_table("consultation_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_responses_consultation_id"),
            ["consultation_id"],
            unique=False,
        )

    op.create_table(
        "consultation_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_themes_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_themes")),
        sa.UniqueConstraint("consultation_id", "name", name="uq_consultation_themes_name"),
    )
    with op.batch_alter_table("consultation_themes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_themes_consultation_id"), ["consultation_id"], unique=False
        )

    op.create_table(
        "consultation_opinions",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_opinions_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["consultation_responses.id"],
            name=op.f("fk_consultation_opinions_response_id_consultation_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["consultation_themes.id"],
            name=op.f("fk_consultation_opinions_theme_id_consultation_themes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_opinions")),
    )
    with op.batch_alter_table("consultation_opinions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_opinions_consultation_id"),
            ["consultation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_opinions_response_id"), ["response_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_opinions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_opinions_response_id"))
        batch_op.drop_index(batch_op.f("ix_consultation_opinions_consultation_id"))

    op.drop_table("consultation_opinions")
    with op.batch_alter_table("consultation_themes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_themes_consultation_id"))

    op.drop_table("consultation_themes")
    with op.batch_alter_table("consultation_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_responses_consultation_id"))

    op.drop_table("consultation_responses")
    op.drop_table("consultations")
