"""published rankings: a quarter's or year's scores frozen when the office finalises them

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_ranking",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("rule_definition_id", sa.Integer(), sa.ForeignKey("definition.id"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("published_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.UniqueConstraint("year", "quarter", "edition", name="uq_published_ranking_period_edition"),
    )


def downgrade() -> None:
    op.drop_table("published_ranking")
