"""delegation: an official's task, or all their own tasks for a leave period, handed to a colleague of the same role and unit

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

IN_FORCE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delegator_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["delegator_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["delegate_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["revoked_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delegation_delegate", "delegation",
                    ["delegate_id", "task_id", "starts_at", "ends_at", "unit_id", "delegator_id"],
                    sqlite_where=IN_FORCE, postgresql_where=IN_FORCE)
    op.create_index("ix_delegation_delegator", "delegation", ["delegator_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_delegation_delegator", table_name="delegation")
    op.drop_index("ix_delegation_delegate", table_name="delegation")
    op.drop_table("delegation")
