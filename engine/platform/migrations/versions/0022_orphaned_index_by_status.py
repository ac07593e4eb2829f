"""the orphaned-task partial index leads with status, so the stuck card's "ready and orphaned" reads it, not every ready task

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ORPHANED = sa.text("orphaned_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_task_orphaned", table_name="task")
    op.create_index("ix_task_orphaned", "task", ["status", "orphaned_at"], sqlite_where=ORPHANED, postgresql_where=ORPHANED)


def downgrade() -> None:
    op.drop_index("ix_task_orphaned", table_name="task")
    op.create_index("ix_task_orphaned", "task", ["orphaned_at"], sqlite_where=ORPHANED, postgresql_where=ORPHANED)
