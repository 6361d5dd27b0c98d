"""notices in the outbox (kind, params, language), live messages, wish escalation time

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only columns are added here: on SQLite, rebuilding a table that outbox rows reference
    # (as dropping a column would) fails the foreign keys.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("wishes") as batch:
        batch.add_column(sa.Column("escalated_at", storage.types.UTCDateTime(), nullable=True))
    op.create_table(
        "live_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("thing", sa.String(length=64), nullable=False),
        sa.Column("view", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("viewer_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("pending_outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_live_messages_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["pending_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_live_messages_pending_outbox_id_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_live_messages_key")),
        sqlite_autoincrement=True,  # ids never reused: a follow-up must not hit a newer row
    )
    op.create_index("ix_live_messages_thing", "live_messages", ["thing", "id"])


def downgrade() -> None:
    op.drop_index("ix_live_messages_thing", table_name="live_messages")
    op.drop_table("live_messages")
    with op.batch_alter_table("wishes") as batch:
        batch.drop_column("escalated_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("language")
        batch.drop_column("params")
        batch.drop_column("kind")
