"""micro-wishes, wish events, participants and service teams

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:21:51.833255
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("leader_id", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_teams_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["users.id"], name=op.f("fk_teams_leader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("community_id", "name", name="uq_teams_community_name"),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_leader_id"), ["leader_id"], unique=False)

    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("added_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index("ix_team_members_user", ["user_id", "team_id"], unique=False)

    op.create_table(
        "wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("posted_by", sa.BigInteger(), nullable=False),
        sa.Column("for_name", sa.String(length=64), nullable=True),
        sa.Column("for_room", sa.String(length=32), nullable=True),
        sa.Column("for_phone", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("voice_file_id", sa.String(length=200), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needed_by", storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.Column("done_photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("thanks", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_wishes_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_wishes_claimed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_wishes_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_wishes_posted_by_users")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_wishes_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishes")),
    )
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wishes_building_status", ["building_id", "status", "id"], unique=False
        )
        batch_op.create_index("ix_wishes_claimed_by", ["claimed_by", "status", "id"], unique=False)
        batch_op.create_index(
            "ix_wishes_community_status", ["community_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_wishes_community_status_category",
            ["community_id", "status", "category", "id"],
            unique=False,
        )
        batch_op.create_index("ix_wishes_posted_by", ["posted_by", "id"], unique=False)
        batch_op.create_index("ix_wishes_team", ["team_id", "status", "id"], unique=False)

    op.create_table(
        "wish_assignments",
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("assigned_by", sa.BigInteger(), nullable=False),
        sa.Column("assigned_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wish_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wish_id"],
            ["wishes.id"],
            name=op.f("fk_wish_assignments_wish_id_wishes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wish_id", "user_id", name=op.f("pk_wish_assignments")),
    )
    with op.batch_alter_table("wish_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_wish_assignments_user", ["user_id", "wish_id"], unique=False)

    op.create_table(
        "wish_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wish_id"],
            ["wishes.id"],
            name=op.f("fk_wish_events_wish_id_wishes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wish_events")),
    )
    with op.batch_alter_table("wish_events", schema=None) as batch_op:
        batch_op.create_index("ix_wish_events_wish", ["wish_id", "id"], unique=False)

    op.create_table(
        "wish_participants",
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("credited_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_wish_participants_team_id_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wish_participants_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["wish_id"],
            ["wishes.id"],
            name=op.f("fk_wish_participants_wish_id_wishes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wish_id", "user_id", name=op.f("pk_wish_participants")),
    )
    with op.batch_alter_table("wish_participants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wish_participants_credited", ["credited_at", "wish_id"], unique=False
        )
        batch_op.create_index(
            "ix_wish_participants_user", ["user_id", "credited_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wish_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_wish_participants_user")
        batch_op.drop_index("ix_wish_participants_credited")

    op.drop_table("wish_participants")
    with op.batch_alter_table("wish_events", schema=None) as batch_op:
        batch_op.drop_index("ix_wish_events_wish")

    op.drop_table("wish_events")
    with op.batch_alter_table("wish_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_wish_assignments_user")

    op.drop_table("wish_assignments")
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.drop_index("ix_wishes_team")
        batch_op.drop_index("ix_wishes_posted_by")
        batch_op.drop_index("ix_wishes_community_status_category")
        batch_op.drop_index("ix_wishes_community_status")
        batch_op.drop_index("ix_wishes_claimed_by")
        batch_op.drop_index("ix_wishes_building_status")

    op.drop_table("wishes")
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index("ix_team_members_user")

    op.drop_table("team_members")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_leader_id"))

    op.drop_table("teams")
