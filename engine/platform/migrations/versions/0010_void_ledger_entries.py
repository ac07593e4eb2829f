"""ledger entries are voided, never deleted: who voided a fund disbursement or land record, when and why

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("fund_disbursement", "land_supply", "land_revitalisation")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("voided_by", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("void_reason", sa.String(length=300), nullable=False, server_default=""))
            batch_op.create_foreign_key(f"fk_{table}_voided_by", "app_user", ["voided_by"], ["id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_voided_by", type_="foreignkey")
            batch_op.drop_column("void_reason")
            batch_op.drop_column("voided_by")
            batch_op.drop_column("voided_at")
