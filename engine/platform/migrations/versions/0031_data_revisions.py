"""data_revision: a token per derived figure, moved by every change of what it is computed from, so the figure can be kept

Revision ID: 0031
Revises: 0030
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "data_revision",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
    )
    op.bulk_insert(table, [{"name": "ranking_inputs", "token": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("data_revision")
