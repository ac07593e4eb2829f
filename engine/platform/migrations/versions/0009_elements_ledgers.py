"""elements ledgers: settings, industrial-fund disbursements, land supply and revitalisation

Revision ID: 0009
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)
AREA = sa.Numeric(precision=10, scale=2)


def upgrade() -> None:
    op.create_table(
        "element_setting",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "fund_disbursement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fund_disbursement_project_id", "fund_disbursement", ["project_id"])
    op.create_index("ix_fund_disbursement_paid_on", "fund_disbursement", ["paid_on"])
    op.create_table(
        "land_supply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplied_on", sa.Date(), nullable=False),
        sa.Column("parcel", sa.String(length=200), nullable=False),
        sa.Column("area_mu", AREA, nullable=False),
        sa.Column("land_use", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_land_supply_supplied_on", "land_supply", ["supplied_on"])
    op.create_index("ix_land_supply_project_id", "land_supply", ["project_id"])
    op.create_table(
        "land_revitalisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("area_mu", AREA, nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_land_revitalisation_done_on", "land_revitalisation", ["done_on"])


def downgrade() -> None:
    op.drop_index("ix_land_revitalisation_done_on", table_name="land_revitalisation")
    op.drop_table("land_revitalisation")
    op.drop_index("ix_land_supply_project_id", table_name="land_supply")
    op.drop_index("ix_land_supply_supplied_on", table_name="land_supply")
    op.drop_table("land_supply")
    op.drop_index("ix_fund_disbursement_paid_on", table_name="fund_disbursement")
    op.drop_index("ix_fund_disbursement_project_id", table_name="fund_disbursement")
    op.drop_table("fund_disbursement")
    op.drop_table("element_setting")
