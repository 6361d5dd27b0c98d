"""suggestions (社区智囊团): suggestions, their replies and what answered them; and the
indexes the statistics read by

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("heard_from", sa.String(length=64), nullable=True),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("voice_file_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        _fk("suggestions", "community_id", "communities"),
        _fk("suggestions", "building_id", "buildings"),
        _fk("suggestions", "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("author_id", "token", name="uq_suggestions_author_token"),
    )
    op.create_index(
        "ix_suggestions_community_status", "suggestions", ["community_id", "status", "id"]
    )
    op.create_index(
        "ix_suggestions_community_created", "suggestions", ["community_id", "created_at"]
    )
    op.create_index("ix_suggestions_author", "suggestions", ["author_id", "id"])
    op.create_table(
        "suggestion_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("replied_by", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("suggestion_replies", "suggestion_id", "suggestions", ondelete="CASCADE"),
        _fk("suggestion_replies", "replied_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_replies")),
    )
    op.create_index(
        "ix_suggestion_replies_suggestion", "suggestion_replies", ["suggestion_id", "id"]
    )
    op.create_table(
        "suggestion_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_by", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        _fk("suggestion_links", "suggestion_id", "suggestions", ondelete="CASCADE"),
        _fk("suggestion_links", "linked_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_links")),
        sa.UniqueConstraint("suggestion_id", "kind", "ref_id", name="uq_suggestion_links_ref"),
    )
    # What the statistics read by (storage/stats.py): a period's wishes of a community or a
    # building; the few wishes given back or handed on (their first claim is in the events);
    # a period's passbook entries per member from the index alone; a period's findings.
    op.create_index("ix_wishes_community_created", "wishes", ["community_id", "created_at"])
    op.create_index("ix_wishes_building_created", "wishes", ["building_id", "created_at"])
    op.create_index(
        "ix_wish_events_given_back",
        "wish_events",
        ["wish_id"],
        sqlite_where=sa.text("kind IN ('released', 'reassigned')"),
        postgresql_where=sa.text("kind IN ('released', 'reassigned')"),
    )
    op.create_index(
        "ix_ledger_entries_community_created",
        "ledger_entries",
        ["community_id", "created_at", "member_id", "points"],
    )
    op.create_index(
        "ix_patrol_findings_community_created", "patrol_findings", ["community_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("suggestion_links")
    op.drop_index("ix_suggestion_replies_suggestion", table_name="suggestion_replies")
    op.drop_table("suggestion_replies")
    op.drop_index("ix_suggestions_author", table_name="suggestions")
    op.drop_index("ix_suggestions_community_created", table_name="suggestions")
    op.drop_index("ix_suggestions_community_status", table_name="suggestions")
    op.drop_table("suggestions")
    op.drop_index("ix_patrol_findings_community_created", table_name="patrol_findings")
    op.drop_index("ix_ledger_entries_community_created", table_name="ledger_entries")
    op.drop_index("ix_wish_events_given_back", table_name="wish_events")
    op.drop_index("ix_wishes_building_created", table_name="wishes")
    op.drop_index("ix_wishes_community_created", table_name="wishes")
