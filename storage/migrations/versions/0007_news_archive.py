"""news archive: the announcements one chat received, newest first

`ix_outbox_broadcast` leads with the broadcast (a broadcast's rows, for its report); the
archive asks the other way round, "the broadcasts sent to chat X", which it cannot serve.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_chat_broadcast", "outbox", ["chat_id", "broadcast_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_broadcast", table_name="outbox")
