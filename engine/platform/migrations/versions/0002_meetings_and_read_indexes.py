"""meetings (agenda and minutes of batched meeting steps) and indexes for the inbox and ledger pages

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("host", sa.String(length=80), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["opened_by"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["closed_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meeting_kind", "meeting", ["kind"])
    op.create_index("ix_meeting_status", "meeting", ["status"])
    op.create_table(
        "meeting_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=40), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meeting_item_meeting_id", "meeting_item", ["meeting_id"])
    op.create_index("ix_meeting_item_task_id", "meeting_item", ["task_id"])
    op.create_index("ix_meeting_item_project_id", "meeting_item", ["project_id"])
    op.create_index("ix_project_attracting_unit_id", "project", ["attracting_unit_id"])
    op.create_index("ix_project_category_total", "project", ["category", "total_investment", "stage"])
    op.create_index("ix_project_manufacturing_total", "project", ["is_manufacturing", "total_investment", "stage"])
    op.create_index(
        "ix_project_ledger",
        "project",
        ["stage", "category", "is_manufacturing", "total_investment", "is_major", "landing_unit_id", "attracting_unit_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_project_ledger", table_name="project")
    op.drop_index("ix_project_manufacturing_total", table_name="project")
    op.drop_index("ix_project_category_total", table_name="project")
    op.drop_index("ix_project_attracting_unit_id", table_name="project")
    op.drop_table("meeting_item")
    op.drop_table("meeting")
