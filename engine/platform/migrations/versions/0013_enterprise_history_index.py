"""an index for an enterprise entry's history: its events found by the entry id their payload names, not by reading every event

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ENTRY_ID = {
    "sqlite": "CAST(json_extract(payload, '$.entry_id') AS INTEGER)",
    "postgresql": "CAST((payload ->> 'entry_id') AS INTEGER)",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    where = sa.text("kind = 'enterprise'")
    op.create_index("ix_event_enterprise_entry", "event", [sa.text(ENTRY_ID[dialect]), "id"],
                    sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_event_enterprise_entry", table_name="event")
