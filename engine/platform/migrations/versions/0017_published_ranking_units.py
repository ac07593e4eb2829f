"""finalised rankings keep each unit's explained lines in their own row, and the edition's rows carry every unit's exact points and counts

A ranking page reads an edition's totals without decoding every line of the period; a unit's page
reads that unit's lines alone. Each unit's points are the exact sum of its lines' points and its
counts, per event, the distinct (project, day, rule) of its lines, as the live ranking counts them.

Revision ID: 0017
Revises: 0016
"""
from decimal import Decimal
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

RANKING = sa.table("published_ranking", sa.column("id", sa.Integer()), sa.column("rows", sa.JSON()))
UNIT = sa.table("published_ranking_unit", sa.column("ranking_id", sa.Integer()), sa.column("unit_id", sa.Integer()),
                sa.column("lines", sa.JSON()))


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """A frozen unit without its lines, with the exact sum of their points and the records they count per event."""
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for line in item["lines"]:
        keys.setdefault(line["event"], set()).add((line["project_id"], line["on"], line["rule"]))
    points = sum((Decimal(repr(float(line["points"]))) for line in item["lines"]), Decimal(0))
    return {**{k: v for k, v in item.items() if k != "lines"}, "points": str(points), "counts": {e: len(k) for e, k in keys.items()}}


def upgrade() -> None:
    op.create_table(
        "published_ranking_unit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ranking_id", sa.Integer(), sa.ForeignKey("published_ranking.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.UniqueConstraint("ranking_id", "unit_id", name="uq_published_ranking_unit_ranking_id"),
    )
    conn = op.get_bind()
    for ranking_id, rows in conn.execute(sa.select(RANKING.c.id, RANKING.c.rows)).all():
        units = [{"ranking_id": ranking_id, "unit_id": item["unit_id"], "lines": item["lines"]} for item in rows if item.get("lines")]
        if units:
            conn.execute(UNIT.insert(), units)
        conn.execute(RANKING.update().where(RANKING.c.id == ranking_id).values(rows=[_summary(item) for item in rows]))


def downgrade() -> None:
    conn = op.get_bind()
    lines: dict[tuple[int, int], list[Any]] = {(r, u): ls for r, u, ls in conn.execute(sa.select(UNIT.c.ranking_id, UNIT.c.unit_id, UNIT.c.lines))}
    for ranking_id, rows in conn.execute(sa.select(RANKING.c.id, RANKING.c.rows)).all():
        frozen = [{**{k: v for k, v in item.items() if k not in ("points", "counts")}, "lines": lines.get((ranking_id, item["unit_id"]), [])}
                  for item in rows]
        conn.execute(RANKING.update().where(RANKING.c.id == ranking_id).values(rows=frozen))
    op.drop_table("published_ranking_unit")
