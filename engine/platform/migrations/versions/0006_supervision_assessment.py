"""supervision and assessment: instances of several processes per project, coordination, targets, notices

Revision ID: 0006
Revises: 0001
"""
import sqlite3
from typing import cast

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)


def _sqlite_foreign_keys(bind: sa.Connection, on: bool) -> None:
    """SQLite rebuilds a table to drop a constraint; that needs foreign keys off, outside a transaction."""
    raw = cast(sqlite3.Connection, bind.connection.dbapi_connection)
    if raw.in_transaction:
        raw.commit()
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(bind, False)
    naming = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
    with op.batch_alter_table("instance", naming_convention=naming) as batch_op:
        batch_op.add_column(
            sa.Column("process_id", sa.String(length=80), nullable=False, server_default="project_lifecycle")
        )
        if bind.dialect.name == "postgresql":
            batch_op.drop_constraint("instance_project_id_key", type_="unique")
        else:
            batch_op.drop_constraint("uq_instance_project_id", type_="unique")
        batch_op.create_index("ix_instance_project_id", ["project_id"], unique=False)
        batch_op.create_index("ix_instance_process_id", ["process_id"], unique=False)
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        assert not broken, f"rebuilding instance broke references: {broken[:5]}"
        _sqlite_foreign_keys(bind, True)

    op.create_table(
        "coordination_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("material", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["submitted_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
    )
    op.create_index("ix_coordination_case_project_id", "coordination_case", ["project_id"])
    op.create_index("ix_coordination_case_status", "coordination_case", ["status"])
    op.create_table(
        "coordination_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("responsible_unit_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("light", sa.String(length=10), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["coordination_case.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["responsible_unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq"),
    )
    op.create_index("ix_coordination_item_case_id", "coordination_item", ["case_id"])
    op.create_index("ix_coordination_item_responsible_unit_id", "coordination_item", ["responsible_unit_id"])
    op.create_index("ix_coordination_item_status", "coordination_item", ["status"])
    op.create_table(
        "criticism",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["coordination_item.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_criticism_unit_id", "criticism", ["unit_id"])
    op.create_index("ix_criticism_year", "criticism", ["year"])
    op.create_table(
        "unit_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("mfg_7yi", sa.Integer(), nullable=False),
        sa.Column("ind_3yi", sa.Integer(), nullable=False),
        sa.Column("yi_plus", sa.Integer(), nullable=False),
        sa.Column("foreign_capital", MONEY, nullable=False),
        sa.Column("out_of_province_capital", MONEY, nullable=False),
        sa.Column("mfg_funds", MONEY, nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "unit_id"),
    )
    op.create_table(
        "monthly_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "month"),
    )


def downgrade() -> None:
    for table in ("monthly_notice", "unit_target", "criticism", "coordination_item", "coordination_case"):
        op.drop_table(table)
    with op.batch_alter_table("instance") as batch_op:
        batch_op.drop_index("ix_instance_process_id")
        batch_op.drop_index("ix_instance_project_id")
        batch_op.drop_column("process_id")
        batch_op.create_unique_constraint("instance_project_id_key", ["project_id"])
