"""the love-savings passbook: an append-only ledger with its totals, point rules per
community, closed quarters; the handshake code on a wish

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=48), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("granted_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_ledger_entries_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_corrects_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_ledger_entries_member_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("member_id", "kind", "ref", name="uq_ledger_entries_member_kind_ref"),
    )
    op.create_index(
        "ix_ledger_entries_member", "ledger_entries", ["member_id", "id"], unique=False
    )
    op.create_index(
        "ix_ledger_entries_community_quarter",
        "ledger_entries",
        ["community_id", "quarter", "id"],
        unique=False,
    )
    op.create_table(
        "ledger_totals",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_ledger_totals_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_ledger_totals_member_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "community_id", "period", name=op.f("pk_ledger_totals")
        ),
    )
    op.create_index(
        "ix_ledger_totals_ranking",
        "ledger_totals",
        ["community_id", "period", "points"],
        unique=False,
    )
    op.create_table(
        "point_rules",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_point_rules_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("community_id", "kind", name=op.f("pk_point_rules")),
    )
    op.create_table(
        "quarter_closes",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("closed_by", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_quarter_closes_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("community_id", "quarter", name=op.f("pk_quarter_closes")),
    )
    # Plain ADD COLUMN (with a server default): a batch would rebuild the wishes table.
    op.add_column("wishes", sa.Column("handshake_code", sa.String(length=8), nullable=True))
    op.add_column(
        "wishes",
        sa.Column("handshake_tries", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "wishes",
        sa.Column("handshake_locked", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.drop_column("handshake_locked")
        batch_op.drop_column("handshake_tries")
        batch_op.drop_column("handshake_code")
    op.drop_table("quarter_closes")
    op.drop_table("point_rules")
    op.drop_index("ix_ledger_totals_ranking", table_name="ledger_totals")
    op.drop_table("ledger_totals")
    op.drop_index("ix_ledger_entries_community_quarter", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_member", table_name="ledger_entries")
    op.drop_table("ledger_entries")
