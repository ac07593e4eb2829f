"""target-enterprise database: industry tags ("1+3+3", seeded with editable defaults) and enterprise entries

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Defaults only: the office renames, adds or deactivates tags on the 产业标签 page; nothing in code depends on them.
DEFAULT_TAGS = [
    ("中医药(康养)", "1 主导产业", 10),
    ("装备制造", "3 重点产业", 20),
    ("新材料", "3 重点产业", 30),
    ("电子信息", "3 重点产业", 40),
    ("文化旅游", "3 特色产业", 50),
    ("生态农业", "3 特色产业", 60),
    ("现代服务业", "3 特色产业", 70),
]


def upgrade() -> None:
    tags = op.create_table(
        "industry_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("group_name", sa.String(length=40), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "enterprise_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("source_unit_id", sa.Integer(), nullable=False),
        sa.Column("list_kind", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=80), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("planned_investment", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["industry_tag.id"]),
        sa.ForeignKeyConstraint(["source_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
        sa.UniqueConstraint("project_id"),
    )
    op.create_index("ix_enterprise_entry_tag_id", "enterprise_entry", ["tag_id"])
    op.create_index("ix_enterprise_entry_source_unit_id", "enterprise_entry", ["source_unit_id"])
    op.create_index("ix_enterprise_entry_list_kind", "enterprise_entry", ["list_kind"])
    op.create_index("ix_enterprise_entry_status", "enterprise_entry", ["status"])
    op.bulk_insert(tags, [{"name": n, "group_name": g, "sort_order": o, "active": True} for n, g, o in DEFAULT_TAGS])


def downgrade() -> None:
    op.drop_table("enterprise_entry")
    op.drop_table("industry_tag")
