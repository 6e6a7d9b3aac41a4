"""dialogue decisions

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-07

The adoption decision (tiếp thu) of a citizen's proposal (a question, kiến nghị) and of a
commitment, with the same vocabulary as a consultation's themes: adopted, partly, not_adopted,
under_study; the reason (required when not or partly adopted), what changed in the policy, and
the day it was decided.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("questions", "commitments")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("decision", sa.String(16)))
            batch_op.add_column(
                sa.Column("decision_reason", sa.Text(), nullable=False, server_default="")
            )
            batch_op.add_column(
                sa.Column("decision_change", sa.Text(), nullable=False, server_default="")
            )
            batch_op.add_column(sa.Column("decided_on", sa.Date()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("decided_on")
            batch_op.drop_column("decision_change")
            batch_op.drop_column("decision_reason")
            batch_op.drop_column("decision")
