"""delivery under load

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

The outbox's queue index in the order claims read it (status, channel, priority, id); an index
to prune processed-update keys by age; dropped bodies stored as SQL NULL rather than JSON null.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_queue", ["status", "channel", "priority", "id"])
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE outbox SET body = NULL WHERE body::text = 'null'")
    else:
        op.execute("UPDATE outbox SET body = NULL WHERE body = 'null'")


def downgrade() -> None:
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_queue")
        batch_op.create_index("ix_outbox_due", ["status", "priority", "not_before"])
