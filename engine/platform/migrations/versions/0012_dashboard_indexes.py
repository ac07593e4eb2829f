"""indexes for the dashboard at county scale: stage totals from the index alone, overdue ready tasks, and the projects signed, landed or started in a year

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_stage_money", "project", ["stage", "status", "total_investment"])
    op.create_index("ix_task_status_due", "task", ["status", "due_at"])
    op.create_index("ix_project_signed_date", "project", ["signed_date"])
    op.create_index("ix_project_landed_at", "project", ["landed_at"])
    op.create_index("ix_project_start_date", "project", ["start_date"])


def downgrade() -> None:
    op.drop_index("ix_project_start_date", table_name="project")
    op.drop_index("ix_project_landed_at", table_name="project")
    op.drop_index("ix_project_signed_date", table_name="project")
    op.drop_index("ix_task_status_due", table_name="task")
    op.drop_index("ix_project_stage_money", table_name="project")
