"""task.claimed_by and claimed_at: a task shown to a group, claimed by one official so the others see who is on it

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # added in place on both backends, without rebuilding the task table: SQLite takes the reference inline
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE task ADD COLUMN claimed_by INTEGER REFERENCES app_user (id)")
    else:
        op.add_column("task", sa.Column("claimed_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True))
    op.add_column("task", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
