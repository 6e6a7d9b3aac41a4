"""the board's kept counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

board_counts (per dialogue, agency, name and deadline day) and board_contributions (what each
question or general commitment adds), filled from the existing rows; indexes for the board's
bounded pages (a dialogue's questions by support, an agency's commitments by deadline) and the
feeds (answers and commitments by time).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_counts",
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dialogue_id", "agency", "name", "day", name="pk_board_counts"),
    )
    op.create_index("ix_board_counts_agency", "board_counts", ["agency", "name"])
    op.create_table(
        "board_contributions",
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_board_contributions"),
    )
    op.create_index("ix_questions_board", "questions", ["dialogue_id", "supporters", "ticket"])
    op.create_index("ix_answers_published_at", "answers", ["published_at"])
    op.create_index("ix_commitments_agency_due", "commitments", ["agency", "due_on", "id"])
    op.create_index("ix_commitments_made_at", "commitments", ["made_at"])
    op.create_index("ix_commitments_updated_at", "commitments", ["updated_at"])

    # lazy: the application's code only when this migration runs, not when Alembic lists them
    from storage.board_counts import recount_all

    recount_all(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_commitments_updated_at", table_name="commitments")
    op.drop_index("ix_commitments_made_at", table_name="commitments")
    op.drop_index("ix_commitments_agency_due", table_name="commitments")
    op.drop_index("ix_answers_published_at", table_name="answers")
    op.drop_index("ix_questions_board", table_name="questions")
    op.drop_table("board_contributions")
    op.drop_index("ix_board_counts_agency", table_name="board_counts")
    op.drop_table("board_counts")
