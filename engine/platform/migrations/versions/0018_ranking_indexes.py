"""indexes the ranking counts from alone: projects by signing, landing and start date with their class columns and credited units, late updates by day with unit, project and reason

They replace the single-column indexes on those dates, which every query that used them still
finds as the leading column.

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = "0003"  # late_update

CLASS_AND_UNITS = ["is_manufacturing", "total_investment", "category", "attracting_unit_id", "landing_unit_id"]
DATES = (("ix_project_signed_scoring", "signed_date"), ("ix_project_landed_scoring", "landed_at"), ("ix_project_started_scoring", "start_date"))


def upgrade() -> None:
    for name, column in DATES:
        op.create_index(name, "project", [column, *CLASS_AND_UNITS])
        op.drop_index(f"ix_project_{column}", table_name="project")
    op.create_index("ix_late_update_scoring", "late_update", ["recorded_on", "unit_id", "project_id", "reason"])
    op.drop_index("ix_late_update_recorded_on", table_name="late_update")


def downgrade() -> None:
    op.create_index("ix_late_update_recorded_on", "late_update", ["recorded_on"])
    op.drop_index("ix_late_update_scoring", table_name="late_update")
    for name, column in DATES:
        op.create_index(f"ix_project_{column}", "project", [column])
        op.drop_index(name, table_name="project")
