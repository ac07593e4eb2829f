"""indexes for the elements ledgers at county scale: the projects with a fund request and their state, paid totals per project, the newest disbursement records a page at a time, and the projects waiting for land, each read from its index alone

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_fund_ledger", "project", ["fund_request", "status", "approved_at", "registered_at"])
    op.create_index("ix_fund_disbursement_counted", "fund_disbursement", ["voided_at", "project_id", "amount"])
    op.create_index("ix_fund_disbursement_listed", "fund_disbursement", ["voided_at", "paid_on", "id"])
    op.create_index("ix_project_land_waiting", "project", ["needs_land", "status", "landed_at", "land_mu", "is_manufacturing", "category",
                                                           "total_investment", "approved_at", "registered_at"])


def downgrade() -> None:
    op.drop_index("ix_project_land_waiting", table_name="project")
    op.drop_index("ix_fund_disbursement_listed", table_name="fund_disbursement")
    op.drop_index("ix_fund_disbursement_counted", table_name="fund_disbursement")
    op.drop_index("ix_project_fund_ledger", table_name="project")
