"""indexes for the fund ledger at county scale: the projects with a request and their state from the index alone, paid totals per project from the index alone, and the newest disbursement records a page at a time

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_project_fund_ledger", "project", ["fund_request", "status", "approved_at", "registered_at"])
    op.create_index("ix_fund_disbursement_counted", "fund_disbursement", ["voided_at", "project_id", "amount"])
    op.create_index("ix_fund_disbursement_listed", "fund_disbursement", ["voided_at", "paid_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_fund_disbursement_listed", table_name="fund_disbursement")
    op.drop_index("ix_fund_disbursement_counted", table_name="fund_disbursement")
    op.drop_index("ix_project_fund_ledger", table_name="project")
