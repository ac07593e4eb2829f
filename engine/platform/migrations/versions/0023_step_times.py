"""step times summed per definition and step (the heat view), the job mark, the completed-at index, and the waiting tasks' step in the status index

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COMPLETED = sa.text("completed_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "step_time",
        sa.Column("definition_id", sa.Integer(), sa.ForeignKey("definition.id"), primary_key=True),
        sa.Column("bpmn_id", sa.String(80), primary_key=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("done_seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "job_mark",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_completed_at", "task", ["completed_at"], sqlite_where=COMPLETED, postgresql_where=COMPLETED)
    op.drop_index("ix_task_status_due", table_name="task")
    op.create_index("ix_task_status_due", "task", ["status", "due_at", "project_id", "created_at", "bpmn_id", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_task_status_due", table_name="task")
    op.create_index("ix_task_status_due", "task", ["status", "due_at", "project_id", "created_at"])
    op.drop_index("ix_task_completed_at", table_name="task")
    op.drop_table("job_mark")
    op.drop_table("step_time")
