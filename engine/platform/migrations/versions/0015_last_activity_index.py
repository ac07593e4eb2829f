"""an index over when each project last showed progress, so the progress lights read only the silent active projects

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_last_activity", "project", ["status", sa.text("coalesce(last_progress_at, registered_at)")])


def downgrade() -> None:
    op.drop_index("ix_project_last_activity", table_name="project")
