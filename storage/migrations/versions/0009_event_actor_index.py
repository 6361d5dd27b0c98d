"""wish events by actor: "the wish this member last confirmed by its code"

The four digits typed again after the wish they confirmed has closed its dialogue are answered
with that wish; finding it asked for a member's latest CONFIRMED event, which
`ix_wish_events_wish` (by wish) cannot serve, so each such message read the whole event log.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_wish_events_actor", "wish_events", ["actor_id", "kind", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_wish_events_actor", table_name="wish_events")
