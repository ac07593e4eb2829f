"""the stage totals index carries is_manufacturing, so the cockpit counts 7亿+ manufacturing projects in the same index-only pass

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_project_stage_money", table_name="project")
    op.create_index("ix_project_stage_money", "project", ["stage", "status", "total_investment", "is_manufacturing"])


def downgrade() -> None:
    op.drop_index("ix_project_stage_money", table_name="project")
    op.create_index("ix_project_stage_money", "project", ["stage", "status", "total_investment"])
