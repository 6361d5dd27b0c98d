"""The monthly digests ("you said, we did", 你说我做) sent, one per community and month; and
announcements whose body is data rendered in each reader's language

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding nullable columns does not rebuild the table on SQLite.
    op.add_column("broadcasts", sa.Column("content_kind", sa.String(length=16), nullable=True))
    op.add_column("broadcasts", sa.Column("content", sa.JSON(), nullable=True))
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_digests_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_digests_broadcast_id_broadcasts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("community_id", "month", name="uq_digests_community_month"),
    )


def downgrade() -> None:
    op.drop_table("digests")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("content")
        batch.drop_column("content_kind")
