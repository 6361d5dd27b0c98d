"""indexes: live messages' foreign keys to the outbox; a building's people in id order

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_building", "users", ["building_id", "id"], unique=False)
    op.drop_index("ix_users_building_id", table_name="users")
    op.create_index("ix_live_messages_outbox", "live_messages", ["outbox_id"], unique=False)
    op.create_index(
        "ix_live_messages_pending", "live_messages", ["pending_outbox_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_live_messages_pending", table_name="live_messages")
    op.drop_index("ix_live_messages_outbox", table_name="live_messages")
    op.create_index("ix_users_building_id", "users", ["building_id"], unique=False)
    op.drop_index("ix_users_building", table_name="users")
