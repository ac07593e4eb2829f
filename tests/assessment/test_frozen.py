"""A finalised edition keeps every unit's figures and lines apart from the live ranking, and survives its storage migration both ways."""
from __future__ import annotations

from datetime import datetime, timezone

import time_machine
from alembic import command
from sqlalchemy import inspect, select

from engine.platform import schema
from engine.platform.db import Database
from engine.supervision import assessment, rankings
from engine.supervision.models import PublishedRanking
from tests.assessment.conftest import SupervisionHelper
from tests.assessment.test_totals import YEAR, counted, fill

AFTER_THE_YEAR = datetime(YEAR + 1, 1, 5, 2, 0, tzinfo=timezone.utc)


def migrate(db: Database, revision: str, down: bool = False) -> None:
    config = schema.alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def explained(db: Database, quarter: int) -> list[assessment.UnitScore]:
    with db.session() as s:
        return rankings.ranking(s, YEAR, quarter, "all")[0]


def test_finalised_figures_stay_when_the_rules_change_and_through_the_migration(sh: SupervisionHelper) -> None:
    fill(sh.db)
    office = sh.user("bangongshi")
    with time_machine.travel(AFTER_THE_YEAR, tick=False):
        with sh.db.session() as s:
            live_q2 = rankings.live(s, YEAR, 2, "all")
            rankings.publish(s, s.merge(office), YEAR, 2)
        with sh.db.session() as s:
            year_live = rankings.live(s, YEAR, 0)
            rankings.publish(s, s.merge(office), YEAR, 0)
        frozen_q2, frozen_year = explained(sh.db, 2), explained(sh.db, 0)
        assert counted(frozen_q2) == counted(live_q2) and counted(frozen_year) == counted(year_live)
        assert [(s.unit_id, s.lines) for s in frozen_q2] == [(s.unit_id, s.lines) for s in live_q2]
        assert sum(len(s.lines) for s in frozen_q2) > 100
        busy = max(frozen_q2, key=lambda score: len(score.lines))
        with sh.db.session() as s:
            only = {score.unit_id: score for score in rankings.ranking(s, YEAR, 2, {busy.unit_id})[0]}
            assert only[busy.unit_id].lines == busy.lines and not any(score.lines for uid, score in only.items() if uid != busy.unit_id)
            assert counted(rankings.ranking(s, YEAR, 2)[0]) == counted(frozen_q2)
            signed = next(r["id"] for r in assessment.rule_table(s)[1] if r["event"] == '"signed"')
            assessment.update_points(s, s.merge(office), {signed: 99})
        with sh.db.session() as s:
            assert counted(rankings.ranking(s, YEAR, 2)[0]) == counted(frozen_q2), "a rule change never rewrites a finalised edition"
            assert counted(rankings.live(s, YEAR, 2)) != counted(frozen_q2)
        migrate(sh.db, "0016", down=True)
        with sh.db.engine.connect() as conn:
            assert "published_ranking_unit" not in inspect(conn).get_table_names()
            stored = [rows for (rows,) in conn.execute(select(PublishedRanking.rows))]
        assert all("lines" in item and "points" not in item for rows in stored for item in rows)
        assert sum(len(item["lines"]) for item in stored[0]) == sum(len(score.lines) for score in frozen_q2)
        migrate(sh.db, "heads")
        assert counted(explained(sh.db, 2)) == counted(frozen_q2) and counted(explained(sh.db, 0)) == counted(frozen_year)
        assert [s.lines for s in explained(sh.db, 2)] == [s.lines for s in frozen_q2]
