"""twinning (结对帮扶): households (need no phone), their circumstances, pairs of a member
and a household, visits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("resident_id", sa.BigInteger(), nullable=True),
        sa.Column("consent_by", sa.BigInteger(), nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_households_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_households_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["users.id"], name=op.f("fk_households_resident_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    op.create_index(
        "ix_households_community_building", "households", ["community_id", "building_id", "id"]
    )
    op.create_index("ix_households_resident", "households", ["resident_id"])
    op.create_table(
        "household_circumstances",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("circumstance", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_circumstances_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "household_id", "circumstance", name=op.f("pk_household_circumstances")
        ),
    )
    op.create_index(
        "ix_household_circumstances_circumstance",
        "household_circumstances",
        ["circumstance", "household_id"],
    )
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("cadence_days", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("ended_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_pairs_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_pairs_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_pairs_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_pairs_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairs")),
    )
    # Partial: an ended pair does not stop the same two from being paired again.
    op.create_index(
        "uq_pairs_active",
        "pairs",
        ["member_id", "household_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index("ix_pairs_member", "pairs", ["member_id", "id"])
    op.create_index("ix_pairs_household", "pairs", ["household_id", "id"])
    op.create_index("ix_pairs_community_started", "pairs", ["community_id", "started_at"])
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice_file_id", sa.String(length=200), nullable=True),
        sa.Column("photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("help_kind", sa.String(length=16), nullable=True),
        sa.Column("help_fen", sa.BigInteger(), nullable=False),
        sa.Column("wellbeing", sa.Integer(), nullable=True),
        sa.Column("wellbeing_note", sa.Text(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"], name=op.f("fk_visits_pair_id_pairs")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_visits_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_visits_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_visits_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_visits_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("member_id", "token", name="uq_visits_member_token"),
    )
    op.create_index("ix_visits_household", "visits", ["household_id", "visited_on", "id"])
    op.create_index("ix_visits_pair", "visits", ["pair_id", "visited_on"])
    op.create_index("ix_visits_community_on", "visits", ["community_id", "visited_on"])


def downgrade() -> None:
    op.drop_index("ix_visits_community_on", table_name="visits")
    op.drop_index("ix_visits_pair", table_name="visits")
    op.drop_index("ix_visits_household", table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_pairs_community_started", table_name="pairs")
    op.drop_index("ix_pairs_household", table_name="pairs")
    op.drop_index("ix_pairs_member", table_name="pairs")
    op.drop_index("uq_pairs_active", table_name="pairs")
    op.drop_table("pairs")
    op.drop_index("ix_household_circumstances_circumstance", table_name="household_circumstances")
    op.drop_table("household_circumstances")
    op.drop_index("ix_households_resident", table_name="households")
    op.drop_index("ix_households_community_building", table_name="households")
    op.drop_table("households")
