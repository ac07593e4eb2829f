"""The demo county shows the product on day one: overdue tasks and lights, 交办单 in progress and overdue, targets with
progress, a finalised quarter with explained scores, 一票评优 and 一票否优, a suspended project, an orphaned task, files,
会商意见, a delegation and a claim, all left by the engine itself; a second load adds nothing, and the pages show it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from engine import demo
from engine.demo.timeline import Calendar
from engine.enterprises import catalog
from engine.enterprises.models import EnterpriseEntry
from engine.platform import attachments
from engine.platform.attachments import Attachment, FileStore
from engine.platform.db import Database
from engine.platform.models import Base, Delegation, Instance, OrgUnit, Project, Task, User
from engine.platform.org import can_act, delegated_to
from engine.projects.comments import ProjectComment
from engine.supervision import assessment, lights, notices, rankings, stamps
from engine.supervision.models import CoordinationCase, Criticism, UnitTarget
from engine.supervision.progress import LateUpdate, ProgressNote
from engine.workflow import console, orphans
from tests.conftest import BACKENDS, prepared_database
from tests.webui.conftest import Auth


@dataclass
class County:
    """The demo loaded twice into one database, with what each load reported and the row counts after each."""

    db: Database
    store: FileStore
    first: demo.Loaded
    second: demo.Loaded
    rows_after_first: dict[str, int]
    rows_after_second: dict[str, int]
    calendar: Calendar


def row_counts(db: Database) -> dict[str, int]:
    """Rows of every table."""
    with db.session() as s:
        return {table.name: s.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables if isinstance(table, Table)}


@pytest.fixture(scope="module", params=BACKENDS)
def county(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """`zhikong demo` as `make run` does it after deploying the lifecycle only, then once more."""
    folder = Path(tmp_path_factory.mktemp(f"demo-{request.param}"))
    database = prepared_database(request.param, folder)
    store = FileStore(folder / "attachments")
    first = demo.load(database, store)
    after_first = row_counts(database)
    second = demo.load(database, store)
    yield County(database, store, first, second, after_first, row_counts(database), Calendar.at(datetime.now(timezone.utc)))
    database.dispose()


def now() -> datetime:
    return datetime.now(timezone.utc)


def project_id(s: Session, name: str) -> int:
    return s.scalars(select(Project.id).where(Project.name == name)).one()


def unit_id(s: Session, code: str) -> int:
    return s.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one()


def test_the_first_load_replays_the_county_and_a_second_adds_nothing(county: County) -> None:
    assert county.first.projects == 13 and county.first.finalised == county.calendar.label
    assert county.first.deployed == ["coordination_item", "assessment_scoring"]
    assert county.second == demo.Loaded(org=False, deployed=[], projects=0, finalised="")
    assert county.rows_after_second == county.rows_after_first


def test_lights_are_red_yellow_and_green_from_overdue_tasks_and_silent_projects(county: County) -> None:
    with county.db.session() as s:
        board = lights.board(s, now())
        assert (board.totals.red, board.totals.yellow, board.totals.green) == (3, 2, 6)
        assert stamps.restamp(s, None) == 0  # every unit of work of the county's history kept the stamps it changed
        assert {p.name for p in board.red} == {"高山茶文化旅游小镇", "磐安香菇数字农业示范园", "大盘山康养度假综合体"}
        assert {p.name for p in board.yellow} == {"智能电动工具生产基地", "乌石村民宿集群"}
        overdue = {(task.name, light) for task, light in lights.overdue_tasks(s, now())}
        assert {("盯引洽谈与落地考察", "red"), ("填写落地审批表", "red"), ("报告办理情况", "red"),
                ("研判小组会议研判", "yellow"), ("可行性论证", "yellow")} == overdue
        silent = {p.name for p in board.red if any(w.kind == "progress" for w in p.warnings)}
        assert silent == {"高山茶文化旅游小镇", "磐安香菇数字农业示范园"}
        late = s.scalars(select(LateUpdate).where(LateUpdate.recorded_on.between(*assessment.quarter_range(
            county.calendar.year, county.calendar.quarter)))).all()
        assert "磐安香菇数字农业示范园" in {row.project.name for row in late}
        assert s.scalar(select(func.count(ProgressNote.id))) >= 30


def test_one_coordination_list_is_overdue_one_in_progress_and_one_just_raised(county: County) -> None:
    with county.db.session() as s:
        cases = {c.title: c for c in s.scalars(select(CoordinationCase))}
        overdue = cases["大盘山康养度假综合体林地占用指标协调"]
        assert overdue.status == "in_progress"
        assert [(i.status, i.light, i.overdue_at is not None) for i in overdue.items] == [("reported", "green", False), ("open", "red", True)]
        going = cases["中药材精深加工产业园供电线路迁改协调"]
        assert going.status == "in_progress" and [i.light for i in going.items] == ["green", "yellow", "green"]
        assert [i.status for i in going.items] == ["open", "open", "reported"]
        assert cases["城区商业综合体周边道路提升协调"].status == "reviewing"


def test_targets_show_progress_and_the_closed_quarter_is_finalised_with_its_explanations(county: County) -> None:
    cal = county.calendar
    with county.db.session() as s:
        assert s.scalar(select(func.count(UnitTarget.id)).where(UnitTarget.year == cal.year)) == len(demo.supervision.TARGETS)
        target, plan = assessment.plan_against_actuals(s, cal.year, unit_id(s, "jinpan"), 12)
        assert target is not None and target.mfg_7yi == 1
        end_of_quarter = plan[cal.quarter * 3 - 1].actual
        assert end_of_quarter is not None and end_of_quarter["mfg_7yi"] == 1 and end_of_quarter["foreign_capital"] == 3000
        published = rankings.latest(s, cal.year, cal.quarter)
        assert published is not None and published.edition == 1
        scores = {row.unit_name: row for row in rankings.thaw(s, published, "all")}
        assert [line.event for line in scores["金磐开发区"].lines] == ["signed", "landed"] == [line.event for line in scores["县经商局"].lines]
        assert scores["金磐开发区"].total == 30 and "“年产5万吨新型环保材料项目”落地" in scores["金磐开发区"].lines[1].explanation
        assert {line.event for line in scores["大盘镇"].lines} == {"item_overdue", "criticised"}
        assert all(line.explanation for row in scores.values() for line in row.lines)
        year = {row.unit_name: row for row in rankings.ranking(s, cal.year, 0)[0]}
        assert year["县经商局"].rating == "一票评优" and "年产5万吨新型环保材料项目" in year["县经商局"].rating_reason
        assert year["大盘镇"].rating == "一票否优" and "通报批评" in year["大盘镇"].rating_reason
        assert [c.year for c in s.scalars(select(Criticism))] == [cal.year]
        assert notices.listing(s, 1).total >= 3


def test_a_suspended_project_an_orphaned_task_a_delegation_and_a_claim(county: County) -> None:
    with county.db.session() as s:
        suspended = s.scalars(select(Instance).where(Instance.status == "suspended")).one()
        assert suspended.project_id == project_id(s, "养老服务中心")
        assert orphans.recheck_all(s) == 1
        orphan = s.scalars(select(Task).where(Task.orphaned_at.is_not(None))).one()
        assert orphan.project_id == project_id(s, "高山蔬菜冷链仓储中心")
        assert "方前镇没有在岗" in orphans.reason(s, orphan)
        assert any(item.kind == "orphaned" and item.task_id == orphan.id for item in console.find_stuck(s))
        nongye = s.scalars(select(User).where(User.username == "fx_nongye")).one()
        assert s.scalars(select(func.count(Delegation.id))).one() == 1
        leave_task = s.scalars(select(Task).where(Task.project_id == project_id(s, "乌石村民宿集群"), Task.status == "ready")).one()
        assert not can_act(nongye, leave_task) and can_act(nongye, leave_task, delegated_to(s, nongye))
        claimed = s.scalars(select(Task).where(Task.claimed_by.is_not(None))).one()
        assert claimed.project_id == project_id(s, "智能电动工具生产基地")
        assert claimed.claimed_by == s.scalars(select(User.id).where(User.username == "yanpan")).one()
        s.rollback()  # the recheck judged nothing new; leave the database as the demo made it


def test_files_are_stored_and_comments_mention_officials(county: County) -> None:
    with county.db.session() as s:
        files = list(s.scalars(select(Attachment)))
        assert len(files) == 6 and {f.kind for f in files} == {"pdf", "png"}
        assert {f.case_id is not None for f in files} == {True, False} and any(f.task_id for f in files)
        for row in files:
            assert attachments.sniff(county.store.path(row.sha256).read_bytes()) == row.kind
        said = list(s.scalars(select(ProjectComment)))
        assert len(said) == 5 and sum(len(c.mentions) for c in said) == 3


def test_the_target_enterprise_lists_are_loaded_once_with_one_entry_already_a_lead(county: County) -> None:
    with county.db.session() as s:
        entries = list(s.scalars(select(EnterpriseEntry)))
        assert len(entries) == len(demo.ENTERPRISES) == 15
        assert {e.list_kind for e in entries} == set(catalog.LIST_KINDS)
        assert len({e.source_unit_id for e in entries}) >= 9
        converted = [e for e in entries if e.status == "converted"]
        assert [(e.name, e.project.name) for e in converted] == [("磐五味药业股份有限公司", "中药材精深加工产业园")]
        talent = s.scalars(select(User).where(User.username == "rencaiban")).one()
        assert talent.unit.name == "县委组织部（人才办）" and catalog.may_create(talent)


SHOWN = ("年产5万吨新型环保材料项目", "大盘山康养度假综合体", "高山茶文化旅游小镇", "养老服务中心", "高山蔬菜冷链仓储中心", "中药材精深加工产业园")
"""Project pages worth a look: landed with files and comments, red with an overdue 交办单, silent, suspended, orphaned, major."""


def signed_in(county: County, username: str) -> FlaskClient:
    from webui import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ZHIKONG_DB": county.db, "DATABASE_URL": county.db.url,
                      "ATTACHMENTS_DIR": str(county.store.root)})
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def test_the_pages_that_show_it_render(county: County) -> None:
    if county.db.url.startswith("postgresql"):
        pytest.skip("the pages read the same rows on both backends; once is enough")
    cal = county.calendar
    with county.db.session() as s:
        ids = {name: pid for pid, name in s.execute(select(Project.id, Project.name))}
        cases = list(s.scalars(select(CoordinationCase.id)))
        dapan, jinpan = unit_id(s, "dapan"), unit_id(s, "jinpan")
        suspended = s.scalars(select(Instance.id).where(Instance.status == "suspended")).one()
        orphan = s.scalars(select(Task).where(Task.orphaned_at.is_not(None))).one()
        claimed = s.scalars(select(Task.id).where(Task.claimed_by.is_not(None))).one()
        files = list(s.scalars(select(Attachment.id)))
        notice = notices.listing(s, 1).rows[0]
    period = f"year={cal.year}&quarter={cal.quarter}"
    pages = {
        "bangongshi": ["/", "/dashboard", "/warnings", "/projects", "/projects?light=red", "/supervision", "/supervision/criticisms",
                       f"/supervision/targets?year={cal.year}", f"/supervision/targets/{jinpan}?year={cal.year}",
                       f"/assessment?{period}", f"/assessment?year={cal.year}&quarter=0", f"/assessment/units/{dapan}?{period}",
                       "/notices", f"/notices/{notice.year}/{notice.month}", "/notifications", "/delegations", "/elements"]
                      + [f"/projects/{ids[name]}" for name in SHOWN] + [f"/supervision/cases/{case}" for case in cases],
        "admin": ["/admin/", f"/admin/instances/{suspended}", f"/admin/instances/{orphan.instance_id}", "/admin/users"],
        "fx_nongye": ["/", "/delegations"],
        "yanpan": ["/", f"/tasks/{claimed}"],
        "dapan": ["/", f"/projects/{ids['大盘山康养度假综合体']}"],
    }
    shown = {}
    for username, paths in pages.items():
        client = signed_in(county, username)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (username, path, response.status_code)
            shown[(username, path)] = response.get_data(as_text=True)
        if username == "bangongshi":
            for file in files:
                download = client.get(f"/attachments/{file}")
                assert download.status_code == 200 and download.mimetype in ("application/pdf", "image/png")
    assert "高山茶文化旅游小镇" in shown[("bangongshi", "/warnings")]
    assert "无人可办" in shown[("admin", "/admin/")]
    landed = shown[("bangongshi", f"/projects/{ids['年产5万吨新型环保材料项目']}")]
    assert "投资协议书（签字盖章版）.pdf" in landed and '请<span class="mention">@刘洋</span> 每月' in landed
    assert "一票否优" in shown[("bangongshi", f"/assessment?year={cal.year}&quarter=0")]
    assert "已定稿" in shown[("bangongshi", f"/assessment?{period}")]
    assert "李红梅" in shown[("fx_nongye", "/delegations")] and "乌石村民宿集群" in shown[("fx_nongye", "/")]
