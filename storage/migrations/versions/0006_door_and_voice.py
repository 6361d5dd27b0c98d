"""safety at the door and voice everywhere: a member's consent to show their phone to the
residents they help; voice notes for the done report, the thank-you and "not done"

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no table is rebuilt (wishes may hold millions).
    op.add_column(
        "users",
        sa.Column("share_phone", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("wishes", sa.Column("done_voice_file_id", sa.String(200), nullable=True))
    op.add_column("wishes", sa.Column("thanks_voice_file_id", sa.String(200), nullable=True))
    op.add_column("wish_events", sa.Column("voice_file_id", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wish_events") as batch:
        batch.drop_column("voice_file_id")
    with op.batch_alter_table("wishes") as batch:
        batch.drop_column("thanks_voice_file_id")
        batch.drop_column("done_voice_file_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("share_phone")
