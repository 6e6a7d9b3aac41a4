"""letters printed

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-07

When each household's printed letter (giấy mời) was written, and when the time on it went out
of date (the dialogue was moved or cancelled): a second `invite` prints only new letters, and
`move`, `cancel`, `invite --letters --changed` and `undelivered` name those holding an old one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("letter_printed_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("letter_outdated_at", sa.DateTime(timezone=True)))
    # Letters printed before this version: those still in "letter" were printed by `invite`.
    op.execute(
        "UPDATE invitations SET letter_printed_at = invited_at "
        "WHERE status = 'letter' AND invited_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("letter_outdated_at")
        batch_op.drop_column("letter_printed_at")
