"""an index of projects by investor, with status and name: an import's duplicate check reads an investor's open projects from it alone

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_investor", "project", ["investor", "status", "name"])


def downgrade() -> None:
    op.drop_index("ix_project_investor", table_name="project")
