"""The periods' kept tallies are recounted after every change of what they are counted from, and only then, on both backends."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.platform import db as unit_of_work
from engine.platform import revisions
from engine.platform.db import Database
from engine.platform.models import OrgUnit, Project, User
from engine.supervision.lights import as_utc
from engine.supervision import assessment
from engine.supervision.models import CoordinationItem, Criticism
from engine.supervision.progress import LateUpdate
from tests.assessment.conftest import SupervisionHelper
from tests.assessment.test_totals import Q2, YEAR, fill, local
from tests.conftest import APPROVE, approval_form, drive_to_tier

Change = Callable[[Session], Any]


def token(db: Database) -> str | None:
    with db.session() as s:
        return revisions.current(s, assessment.RANKING_INPUTS.name)


def kept_and_counted(db: Database) -> tuple[dict[int, assessment.Tally], dict[int, assessment.Tally]]:
    """The quarter's tallies as the pages get them, and as the database counts them now."""
    with db.session() as s:
        scorer = assessment.Scorer(s)
        return assessment.tallies(s, *Q2, scorer), assessment.recount(s, *Q2, scorer)


def next_id(s: Session) -> int:
    """An id past the fill's (its rows went in with their own ids, past PostgreSQL's sequence)."""
    return (s.scalar(select(Project.id).order_by(Project.id.desc()).limit(1)) or 0) + 1


def first(s: Session, *where: Any) -> Project:
    found = s.scalars(select(Project).where(*where).order_by(Project.id)).first()
    assert found is not None
    return found


def other_unit(s: Session, project: Project) -> int:
    kinds = assessment.ASSESSED_KINDS
    found = s.scalars(select(OrgUnit.id).where(OrgUnit.kind.in_(kinds), OrgUnit.id != project.landing_unit_id,
                                               OrgUnit.id != project.attracting_unit_id)).first()
    assert found is not None
    return found


def set_signed(s: Session) -> None:
    first(s, Project.signed_date.is_(None)).signed_date = Q2[0] + timedelta(days=3)


def move_landing_unit(s: Session) -> None:
    project = first(s, Project.signed_date.between(*Q2))
    project.landing_unit_id = other_unit(s, project)


def change_class(s: Session) -> None:
    first(s, Project.signed_date.between(*Q2), Project.total_investment < 10000).total_investment = Decimal(120000)


def record_late_update(s: Session) -> None:
    project = first(s)
    s.add(LateUpdate(unit_id=project.landing_unit_id, project_id=project.id, recorded_on=Q2[0] + timedelta(days=9), days=35,
                     last_update_at=local(Q2[0], 9) - timedelta(days=26), reason="超过30天未更新进展"))


def criticise(s: Session) -> None:
    s.add(Criticism(unit_id=first(s).landing_unit_id, year=YEAR, reason="交办事项未按时办结", recorded_by=s.scalars(select(User.id)).first(),
                    recorded_at=local(Q2[0] + timedelta(days=20), 10)))


def item_overdue(s: Session) -> None:
    """An item goes overdue inside the quarter (or, when the first one already did, its overdue time is corrected out of it)."""
    item = s.scalars(select(CoordinationItem).order_by(CoordinationItem.id)).first()
    assert item is not None and item.overdue_at is not None
    inside = local(Q2[0], 0) <= as_utc(item.overdue_at) < local(Q2[1] + timedelta(days=1), 0)
    item.overdue_at = local(Q2[0] - timedelta(days=30), 18) if inside else local(Q2[0] + timedelta(days=30), 18)


def register_signed(s: Session) -> None:
    model = first(s)
    s.add(Project(id=next_id(s), name="已签约的新项目", attracting_unit_id=model.attracting_unit_id, landing_unit_id=model.landing_unit_id,
                  category="industrial", is_manufacturing=True, total_investment=Decimal(80000), deputy_id=model.deputy_id,
                  stage="signing", signed_date=Q2[0] + timedelta(days=40)))


def register_signed_past_the_flush(s: Session) -> None:
    """As a registration inserts its record (db.insert_row), not through the flush."""
    model = first(s)
    unit_of_work.insert_row(s, Project, {"id": next_id(s), "name": "插入即签约的新项目", "attracting_unit_id": model.attracting_unit_id,
                                         "landing_unit_id": model.landing_unit_id, "category": "industrial", "is_manufacturing": True,
                                         "total_investment": Decimal(80000), "deputy_id": model.deputy_id, "stage": "signing",
                                         "signed_date": Q2[0] + timedelta(days=45)})


def signed_past_the_flush(s: Session) -> None:
    """As a completion writes the record (runtime.advance through db.save_changes), not through the flush."""
    project = first(s, Project.start_date.is_(None))
    project.start_date, project.is_manufacturing, project.total_investment = Q2[0] + timedelta(days=50), True, Decimal(120000)
    unit_of_work.save_changes(s, project)


CHANGES: tuple[Change, ...] = (set_signed, move_landing_unit, change_class, record_late_update, criticise, item_overdue,
                               register_signed, register_signed_past_the_flush, signed_past_the_flush)


def test_every_kind_of_input_change_gives_a_new_token_and_a_recount(sdb: Database) -> None:
    fill(sdb, projects=120)
    with sdb.session() as s:
        revisions.move_all(s)  # the fill's rows went in past the unit of work, as a bulk load
    kept, counted = kept_and_counted(sdb)
    assert kept == counted and kept
    for change in CHANGES:
        before = token(sdb)
        with sdb.session() as s:
            change(s)
        assert token(sdb) != before, change.__name__
        kept_after, counted = kept_and_counted(sdb)
        assert kept_after == counted, change.__name__
        assert kept_after != kept, f"{change.__name__} left the quarter's tallies as they were"
        kept = kept_after


def test_a_signing_completed_through_the_engine_is_counted_on_the_next_view(sh: SupervisionHelper) -> None:
    """The signing step writes the project's date past the flush (runtime.advance, db.save_changes); the kept quarter follows."""
    pid = sh.register(name="经办签约", is_manufacturing=True, total_investment=80000)
    drive_to_tier(sh, pid, "anwen", approval_form(False))
    while (step := sh.only_ready(pid)).bpmn_id != "sign_contract":
        sh.complete(pid, sh.actors_for(pid)[0], APPROVE, step.bpmn_id)
    quarter = assessment.quarter_range(2026, 4)

    def kept_and_counted() -> tuple[dict[int, assessment.Tally], dict[int, assessment.Tally]]:
        with sh.db.session() as s:
            scorer = assessment.Scorer(s)
            return assessment.tallies(s, *quarter, scorer), assessment.recount(s, *quarter, scorer)

    before, _ = kept_and_counted()
    sh.complete(pid, "anwen", {"signed_date": "2026-10-01", "contract_amount": 48000}, "sign_contract")
    after, counted = kept_and_counted()
    assert after == counted != before


def test_changes_the_ranking_does_not_read_keep_the_token(sdb: Database) -> None:
    fill(sdb, projects=40)
    before = token(sdb)
    with sdb.session() as s:
        project = first(s)
        project.name, project.stage, project.last_progress_at = "改名后的项目", "landing", local(Q2[0], 8)
        s.add(Project(id=next_id(s), name="新登记线索", attracting_unit_id=project.attracting_unit_id, landing_unit_id=project.landing_unit_id,
                      category="service", total_investment=Decimal(5000), deputy_id=project.deputy_id))
    with sdb.session() as s:  # a lead inserted past the flush, as a registration inserts it, counts no more than one flushed
        project = first(s)
        unit_of_work.insert_row(s, Project, {"id": next_id(s), "name": "插入的新线索", "attracting_unit_id": project.attracting_unit_id,
                                             "landing_unit_id": project.landing_unit_id, "category": "service",
                                             "total_investment": Decimal(5000), "deputy_id": project.deputy_id})
    assert token(sdb) == before


def test_a_unit_of_work_that_changed_the_inputs_neither_takes_nor_keeps_a_tally(sdb: Database) -> None:
    fill(sdb, projects=60)
    with sdb.session() as s:
        revisions.move_all(s)
    kept, _ = kept_and_counted(sdb)
    try:
        with sdb.session() as s:
            set_signed(s)
            scorer = assessment.Scorer(s)
            seen = assessment.tallies(s, *Q2, scorer)  # its own uncommitted signing counts for itself
            assert seen == assessment.recount(s, *Q2, scorer) != kept
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert kept_and_counted(sdb) == (kept, kept)  # what the rolled-back unit of work saw was not kept


def test_a_change_through_another_connection_pool_is_seen(sdb: Database) -> None:
    """Two web workers: each keeps its own tallies, and one's change is recounted by the other."""
    fill(sdb, projects=60)
    with sdb.session() as s:
        revisions.move_all(s)
    other = Database(sdb.url)
    try:
        kept, _ = kept_and_counted(sdb)
        assert kept_and_counted(other)[0] == kept
        with other.session() as s:
            set_signed(s)
        kept_after, counted = kept_and_counted(sdb)
        assert kept_after == counted != kept
    finally:
        other.dispose()
