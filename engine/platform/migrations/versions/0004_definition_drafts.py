"""definition drafts: one working copy per process that process owners save from the modeler

Revision ID: 0004
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definition_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=80), nullable=False),
        sa.Column("base_definition_id", sa.Integer(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["base_definition_id"], ["definition.id"]),
        sa.ForeignKeyConstraint(["saved_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id", name="uq_definition_draft_process_id"),
    )


def downgrade() -> None:
    op.drop_table("definition_draft")
