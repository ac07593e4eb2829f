"""ix_project_class: a project's assessment class columns by its id, so the quarter's late updates look theirs up from the index

Revision ID: 0030
Revises: 0029
"""
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_class", "project", ["id", "is_manufacturing", "total_investment", "category"])


def downgrade() -> None:
    op.drop_index("ix_project_class", table_name="project")
