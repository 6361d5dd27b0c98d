"""many communities: users, invites, audit entries and broadcasts carry their community (or
node); coordinators are appointed to a node of the tree

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only columns are added: on SQLite, rebuilding `users` (which many tables reference, some
    # with ON DELETE CASCADE) is not safe with foreign keys on.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.create_index("ix_users_community", ["community_id", "id"], unique=False)
    with op.batch_alter_table("user_roles") as batch:
        batch.add_column(sa.Column("node_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("node_id", sa.Integer(), nullable=True))
        batch.create_index("ix_user_roles_node", ["node_kind", "node_id"], unique=False)
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.create_index("ix_audit_log_community", ["community_id", "id"], unique=False)
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("node_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("node_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # SQLite cannot add a foreign key to an existing table without rebuilding it.
        for table in ("users", "invites", "audit_log"):
            op.create_foreign_key(
                f"fk_{table}_community_id_communities",
                table,
                "communities",
                ["community_id"],
                ["id"],
            )
    # Everything so far belonged to the one community there was; its coordinators stay its
    # coordinators (start-up appoints the configured ones to the district).
    # (With no community yet, nothing is filled in: the first start adopts them.)
    first = "(SELECT MIN(id) FROM communities)"
    op.execute(
        "UPDATE users SET community_id = COALESCE("
        "(SELECT community_id FROM buildings WHERE buildings.id = users.building_id), "
        f"{first})"
    )
    op.execute(
        f"UPDATE user_roles SET node_kind = 'community', node_id = {first}"
        " WHERE role = 'coordinator' AND EXISTS (SELECT 1 FROM communities)"
    )
    op.execute(f"UPDATE invites SET community_id = {first}")
    op.execute(f"UPDATE audit_log SET community_id = {first}")
    op.execute(
        f"UPDATE broadcasts SET node_kind = 'community', node_id = {first}"
        " WHERE EXISTS (SELECT 1 FROM communities)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("users", "invites", "audit_log"):
            op.drop_constraint(f"fk_{table}_community_id_communities", table, type_="foreignkey")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("node_id")
        batch.drop_column("node_kind")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_community")
        batch.drop_column("community_id")
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("community_id")
    with op.batch_alter_table("user_roles") as batch:
        batch.drop_index("ix_user_roles_node")
        batch.drop_column("node_id")
        batch.drop_column("node_kind")
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_community")
        batch.drop_column("community_id")
