"""the overdue-task index carries each task's project and creation time, so the lights read overdue tasks from the index alone

Revision ID: 0021
Revises: 0020
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_task_status_due", table_name="task")
    op.create_index("ix_task_status_due", "task", ["status", "due_at", "project_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_status_due", table_name="task")
    op.create_index("ix_task_status_due", "task", ["status", "due_at"])
