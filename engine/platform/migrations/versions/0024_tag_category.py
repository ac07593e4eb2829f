"""each industry tag names the project category (产业类别) a lead converted from one of its enterprises starts with

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = "0008"  # the industry tags come from the enterprises branch

# the seeded tags of the "1+3+3" system and the category each one's projects belong to
SEEDED = {"中医药(康养)": "health", "装备制造": "industrial", "新材料": "industrial", "电子信息": "industrial",
          "文化旅游": "tourism", "生态农业": "agriculture", "现代服务业": "services"}


def upgrade() -> None:
    with op.batch_alter_table("industry_tag") as batch:
        batch.add_column(sa.Column("category", sa.String(20), nullable=False, server_default=""))
    tags = sa.table("industry_tag", sa.column("name", sa.String), sa.column("category", sa.String))
    for name, category in SEEDED.items():
        op.execute(tags.update().where(tags.c.name == name).values(category=category))


def downgrade() -> None:
    with op.batch_alter_table("industry_tag") as batch:
        batch.drop_column("category")
