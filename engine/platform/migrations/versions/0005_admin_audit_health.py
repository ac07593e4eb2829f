"""hash-chained event log, orphaned-task flag, scheduler heartbeats

Revision ID: 0005
Revises: 0001

Adds seq/prev_hash/hash to every event and chains the rows already there (in id order), the
audit_head row that witnesses the end of the chain, triggers that refuse UPDATE/DELETE of
chained events, task.orphaned_at, an index on event.instance_id and scheduler_heartbeat.
"""
from alembic import op
import sqlalchemy as sa

from engine.platform.audit import GENESIS, entry_hash

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '事件日志只能追加，不能删除（事件 #%）', OLD.id;
  END IF;
  IF OLD.hash IS NOT NULL THEN
    RAISE EXCEPTION '事件日志只能追加，不能修改（事件 #%）', OLD.id;
  END IF;
  RETURN NEW;
END
$$
"""
PG_TRIGGER = "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event FOR EACH ROW EXECUTE FUNCTION event_append_only()"
SQLITE_TRIGGERS = (
    "CREATE TRIGGER event_no_update BEFORE UPDATE ON event WHEN OLD.hash IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, '事件日志只能追加，不能修改'); END",
    "CREATE TRIGGER event_no_delete BEFORE DELETE ON event "
    "BEGIN SELECT RAISE(ABORT, '事件日志只能追加，不能删除'); END",
)

event_table = sa.table(
    "event",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("kind", sa.String),
    sa.column("project_id", sa.Integer),
    sa.column("instance_id", sa.Integer),
    sa.column("actor_id", sa.Integer),
    sa.column("bpmn_id", sa.String),
    sa.column("summary", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def _chain_existing_events() -> tuple[int, str]:
    """Chain the rows logged before this migration, oldest first; returns the head (seq, hash)."""
    bind = op.get_bind()
    seq, previous = 0, GENESIS
    rows = bind.execute(sa.select(event_table).order_by(event_table.c.id)).all()
    for row in rows:
        seq += 1
        digest = entry_hash(row, seq, previous)
        bind.execute(
            event_table.update().where(event_table.c.id == row.id).values(seq=seq, prev_hash=previous, hash=digest)
        )
        previous = digest
    return seq, previous


def upgrade() -> None:
    op.add_column("event", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("event", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("event", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_event_seq"), "event", ["seq"], unique=True)
    op.create_index(op.f("ix_event_instance_id"), "event", ["instance_id"], unique=False)
    head_table = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    seq, last = _chain_existing_events()
    op.bulk_insert(head_table, [{"id": 1, "seq": seq, "hash": last}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.add_column("task", sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_heartbeat")
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("orphaned_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_append_only ON event")
        op.execute("DROP FUNCTION event_append_only()")
    else:
        op.execute("DROP TRIGGER event_no_update")
        op.execute("DROP TRIGGER event_no_delete")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_event_instance_id"), table_name="event")
    op.drop_index(op.f("ix_event_seq"), table_name="event")
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
