"""officials, answers, commitments, supports, digests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Agencies (seeded from DOMAIN.md) and staff roles; moderation, answers, commitments, citizens'
support and feedback on questions; the record of daily messages already written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_table(
        "daily_jobs",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_daily_jobs")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=True),
        sa.Column("ward", sa.String(length=100), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency"], ["agencies.code"], name=op.f("fk_staff_agency_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_staff_code_hash")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index("ix_staff_address", ["channel", "user_id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("in_room", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_answers_question_id_questions")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_answers_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_question_id"), ["question_id"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=True),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dialogue_id"], ["dialogues.id"], name=op.f("fk_commitments_dialogue_id_dialogues")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_commitments_question_id_questions")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_commitments_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitments_dialogue_id"), ["dialogue_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_commitments_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("about", sa.String(length=40), nullable=False),
        sa.Column("giver_hash", sa.String(length=64), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_feedback_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("question_id", "about", "giver_hash", name="uq_feedback_once"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_question_id"), ["question_id"], unique=False)

    op.create_table(
        "question_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_question_events_question_id_questions")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_question_events_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_events")),
    )
    with op.batch_alter_table("question_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_events_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "supports",
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("supporter_hash", sa.String(length=64), nullable=False),
        sa.Column("reply_handle", sa.LargeBinary(), nullable=True),
        sa.Column("supported_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_supports_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("question_id", "supporter_hash", name=op.f("pk_supports")),
    )
    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("merged_into", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("reject_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("supporters", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("answered_in_room", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reopen_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_questions_merged_into_questions"), "questions", ["merged_into"], ["id"]
        )

    # The agencies that answered in the Trà Vinh plan (DOMAIN.md); names are catalog ids.
    op.bulk_insert(
        sa.table(
            "agencies",
            sa.column("code", sa.String),
            sa.column("name", sa.String),
            sa.column("active", sa.Boolean),
        ),
        [{"code": code, "name": name, "active": True} for code, name in SEEDED_AGENCIES],
    )


SEEDED_AGENCIES = [
    ("ldtbxh", "Labour, Invalids and Social Affairs Office"),
    ("kinhte", "Economy Office"),
    ("yte", "Health Office"),
    ("nhcsxh", "Social Policy Bank"),
    ("gddt", "Education and Training Office"),
    ("bhxh", "Social Insurance"),
    ("ubnd", "Ward / Commune People's Committee"),
]


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_questions_merged_into_questions"), type_="foreignkey"
        )
        batch_op.drop_column("reopen_reason")
        batch_op.drop_column("due_on")
        batch_op.drop_column("answered_in_room")
        batch_op.drop_column("supporters")
        batch_op.drop_column("reject_reason")
        batch_op.drop_column("merged_into")
        batch_op.drop_column("sensitive")

    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.drop_column("closed_at")

    op.drop_table("supports")
    with op.batch_alter_table("question_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_events_question_id"))

    op.drop_table("question_events")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_question_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_question_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_dialogue_id"))

    op.drop_table("commitments")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_question_id"))

    op.drop_table("answers")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_address")

    op.drop_table("staff")
    op.drop_table("daily_jobs")
    op.drop_table("agencies")
