"""slots (patrol shifts and study sessions): the slots, sign-ups and swaps; patrol posts,
their buildings, shifts and findings; study sessions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0011"
down_revision = "0010"
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
        "slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("taken", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        _fk("slots", "community_id", "communities"),
        _fk("slots", "building_id", "buildings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
    )
    op.create_index(
        "ix_slots_community_kind_starts", "slots", ["community_id", "kind", "starts_at"]
    )
    op.create_index("ix_slots_series", "slots", ["series_id"])
    op.create_table(
        "slot_signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("checked_in_at", UTCDateTime(), nullable=True),
        sa.Column("checked_out_at", UTCDateTime(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("slot_signups", "slot_id", "slots"),
        _fk("slot_signups", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_signups")),
        sa.UniqueConstraint("slot_id", "user_id", name="uq_slot_signups_slot_user"),
    )
    op.create_index("ix_slot_signups_user_starts", "slot_signups", ["user_id", "starts_at"])
    op.create_index("ix_slot_signups_slot_status", "slot_signups", ["slot_id", "status"])
    op.create_table(
        "slot_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_by", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        _fk("slot_swaps", "slot_id", "slots"),
        _fk("slot_swaps", "from_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_swaps")),
    )
    op.create_index(
        "uq_slot_swaps_open",
        "slot_swaps",
        ["slot_id", "from_user_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "patrol_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("patrol_posts", "community_id", "communities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_posts")),
    )
    op.create_index("ix_patrol_posts_community", "patrol_posts", ["community_id", "id"])
    op.create_table(
        "patrol_post_buildings",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        _fk("patrol_post_buildings", "post_id", "patrol_posts", ondelete="CASCADE"),
        _fk("patrol_post_buildings", "building_id", "buildings"),
        sa.PrimaryKeyConstraint("post_id", "building_id", name=op.f("pk_patrol_post_buildings")),
    )
    op.create_table(
        "patrol_shifts",
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        _fk("patrol_shifts", "slot_id", "slots"),
        _fk("patrol_shifts", "post_id", "patrol_posts"),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_patrol_shifts")),
    )
    op.create_index("ix_patrol_shifts_post", "patrol_shifts", ["post_id", "slot_id"])
    op.create_table(
        "patrol_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice_file_id", sa.String(length=200), nullable=True),
        sa.Column("photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_by", sa.BigInteger(), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("wish_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("patrol_findings", "slot_id", "slots"),
        _fk("patrol_findings", "community_id", "communities"),
        _fk("patrol_findings", "building_id", "buildings"),
        _fk("patrol_findings", "reported_by", "users"),
        _fk("patrol_findings", "wish_id", "wishes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_findings")),
        sa.UniqueConstraint("reported_by", "token", name="uq_patrol_findings_reporter_token"),
    )
    op.create_index(
        "ix_patrol_findings_community_status",
        "patrol_findings",
        ["community_id", "status", "id"],
    )
    op.create_index("ix_patrol_findings_slot", "patrol_findings", ["slot_id", "id"])
    op.create_table(
        "study_sessions",
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("material_file_id", sa.String(length=200), nullable=True),
        sa.Column("material_name", sa.String(length=200), nullable=True),
        sa.Column("material_link", sa.String(length=500), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        _fk("study_sessions", "slot_id", "slots"),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_study_sessions")),
    )


def downgrade() -> None:
    op.drop_table("study_sessions")
    op.drop_index("ix_patrol_findings_slot", table_name="patrol_findings")
    op.drop_index("ix_patrol_findings_community_status", table_name="patrol_findings")
    op.drop_table("patrol_findings")
    op.drop_index("ix_patrol_shifts_post", table_name="patrol_shifts")
    op.drop_table("patrol_shifts")
    op.drop_table("patrol_post_buildings")
    op.drop_index("ix_patrol_posts_community", table_name="patrol_posts")
    op.drop_table("patrol_posts")
    op.drop_index("uq_slot_swaps_open", table_name="slot_swaps")
    op.drop_table("slot_swaps")
    op.drop_index("ix_slot_signups_slot_status", table_name="slot_signups")
    op.drop_index("ix_slot_signups_user_starts", table_name="slot_signups")
    op.drop_table("slot_signups")
    op.drop_index("ix_slots_series", table_name="slots")
    op.drop_index("ix_slots_community_kind_starts", table_name="slots")
    op.drop_table("slots")
