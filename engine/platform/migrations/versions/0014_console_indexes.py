"""indexes for the admin console and meetings at county scale: instances by last activity, one kind of event among years of events, the few orphaned tasks among a million, the ready tasks at one step

Revision ID: 0014
Revises: 0013, 0005 (the task's orphaned_at column comes from 0005's branch)
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = ("0013", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instance_updated", "instance", ["updated_at", "id"])
    op.create_index("ix_event_kind", "event", ["kind", "id"])
    op.create_index("ix_task_step_status", "task", ["bpmn_id", "status"])
    orphaned = sa.text("orphaned_at IS NOT NULL")
    op.create_index("ix_task_orphaned", "task", ["orphaned_at"], sqlite_where=orphaned, postgresql_where=orphaned)


def downgrade() -> None:
    op.drop_index("ix_task_orphaned", table_name="task")
    op.drop_index("ix_task_step_status", table_name="task")
    op.drop_index("ix_event_kind", table_name="event")
    op.drop_index("ix_instance_updated", table_name="instance")
