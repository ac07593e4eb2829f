"""project.yellow_at and red_at: when each project's light turns yellow and red if nothing changes, stamped for every project, and their index

Revision ID: 0029
Revises: 0028
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

STAMPED = sa.DateTime(timezone=True)
PROJECT = sa.table("project", sa.column("id", sa.Integer()), sa.column("last_progress_at", STAMPED),
                   sa.column("registered_at", STAMPED), sa.column("yellow_at", STAMPED), sa.column("red_at", STAMPED))
TASK = sa.table("task", sa.column("project_id", sa.Integer()), sa.column("status", sa.String()),
                sa.column("due_at", STAMPED), sa.column("created_at", STAMPED))
SETTING = sa.table("warning_setting", sa.column("key", sa.String()), sa.column("value", sa.JSON()))
THRESHOLDS = {"progress_yellow_days": 30, "progress_red_days": 45}  # the defaults when this version was released
CHUNK = 5000


def upgrade() -> None:
    op.add_column("project", sa.Column("yellow_at", STAMPED, nullable=True))
    op.add_column("project", sa.Column("red_at", STAMPED, nullable=True))
    stamp_every_project(op.get_bind())
    op.create_index("ix_project_light", "project", ["status", "yellow_at", "red_at", "landing_unit_id", "attracting_unit_id", "deputy_id"])


def utc(value: datetime) -> datetime:
    """SQLite hands stored UTC back naive."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def stamp_every_project(bind: sa.Connection) -> None:
    """Each project's stamps from its ready tasks with a due time, its last activity and the stored thresholds."""
    settings = dict(THRESHOLDS)
    settings.update((key, value) for key, value in bind.execute(sa.select(SETTING.c.key, SETTING.c.value)) if key in THRESHOLDS)
    due: dict[int, list[tuple[datetime, datetime]]] = {}
    ready = sa.select(TASK.c.project_id, TASK.c.due_at, TASK.c.created_at).where(TASK.c.status == "ready", TASK.c.due_at.is_not(None))
    for project_id, due_at, created_at in bind.execute(ready):
        due.setdefault(project_id, []).append((due_at, created_at))
    last = sa.func.coalesce(PROJECT.c.last_progress_at, PROJECT.c.registered_at, type_=STAMPED)
    update = PROJECT.update().where(PROJECT.c.id == sa.bindparam("project_id")).values(
        yellow_at=sa.bindparam("yellow"), red_at=sa.bindparam("red"))
    after = 0
    while rows := bind.execute(sa.select(PROJECT.c.id, last).where(PROJECT.c.id > after).order_by(PROJECT.c.id).limit(CHUNK)).all():
        stamps = []
        for project_id, last_activity in rows:
            # the rule as it stands at this version: the first overdue task (yellow at its due time, red once overdue by
            # its due duration again) or the silence past the progress thresholds, whichever comes first
            yellow = utc(last_activity) + timedelta(days=settings["progress_yellow_days"])
            red = utc(last_activity) + timedelta(days=settings["progress_red_days"])
            for due_at, created_at in due.get(project_id, ()):
                due_time = utc(due_at)
                yellow, red = min(yellow, due_time), min(red, due_time + (due_time - utc(created_at)))
            stamps.append({"project_id": project_id, "yellow": yellow, "red": red})
        bind.execute(update, stamps)
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_project_light", table_name="project")
    op.drop_column("project", "red_at")  # in place on both backends: rebuilding the project table would break its references
    op.drop_column("project", "yellow_at")
