"""The coordination item (交办单) process end to end: submit → office → principal leader → 督考办 → departments → close."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from engine.platform import clock
from engine.supervision import coordination
from engine.platform.errors import InvalidInput, NotAllowed
from engine.platform.models import Instance, User
from engine.platform.notifications import Notification
from engine.platform.org import can_act
from engine.supervision.models import CoordinationCase, CoordinationItem, Criticism
from tests.assessment.conftest import SupervisionHelper

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def submit(sh: SupervisionHelper, pid: int, by: str = "anwen") -> CoordinationCase:
    with sh.db.session() as s:
        return coordination.submit(s, pid, s.merge(sh.user(by)), {"title": "用地报批受阻", "problem": "林地指标不足，需县级统筹", "material": "情况说明及附图"})


def issue(sh: SupervisionHelper, instance_id: int, lines: list[dict[str, Any]]) -> None:
    task = sh.task(instance_id, "issue_list")
    with sh.db.session() as s:
        coordination.issue_list(s, task.id, s.merge(sh.user("dukao")), lines)


def case_of(sh: SupervisionHelper, case_id: int) -> CoordinationCase:
    with sh.db.session() as s:
        case = s.get_one(CoordinationCase, case_id)
        _ = [i.responsible_unit.name for i in case.items]
        return case


def test_item_process_runs_end_to_end_with_one_report_per_department(sh: SupervisionHelper) -> None:
    with time_machine.travel(START, tick=False):
        pid = sh.register(by="anwen", name="协调测试项目")
        case = submit(sh, pid)
        assert case.status == "reviewing"
        with sh.db.session() as s:
            assert s.scalars(select(func.count(Instance.id)).where(Instance.project_id == pid)).one() == 2
        review = sh.task(case.instance_id, "review_submission")
        assert review.role == "office"
        sh.act(review, "bangongshi", {"decision": "return", "opinion": "请补充林地指标测算"})
        revise = sh.task(case.instance_id, "revise_submission")
        with sh.db.session() as s:
            assert not can_act(s.merge(sh.user("xinwo")), revise) and can_act(s.merge(sh.user("anwen")), revise)
        sh.act(revise, "anwen", {"problem": "林地指标缺口12亩", "material": "测算表"})
        sh.act(sh.task(case.instance_id, "review_submission"), "bangongshi", {"decision": "forward", "opinion": "报县主要领导"})
        sh.act(sh.task(case.instance_id, "leader_approval"), "xianzhang", {"decision": "approve", "opinion": "同意交办"})
        assert case_of(sh, case.id).status == "issuing"
        zr, jsj = sh.unit("zrzy"), sh.unit("jsj")
        issue(sh, case.instance_id, [
            {"title": "统筹林地指标", "responsible_unit_id": zr, "deadline": "2026-03-20"},
            {"title": "协调设备补助政策", "responsible_unit_id": jsj, "deadline": "2026-03-31"},
        ])
        items = case_of(sh, case.id).items
        assert [(i.seq, i.responsible_unit_id, i.deadline) for i in items] == [(1, zr, date(2026, 3, 20)), (2, jsj, date(2026, 3, 31))]
        zr_task = sh.task(case.instance_id, "report_item", unit=zr)
        due = zr_task.due_at.replace(tzinfo=zr_task.due_at.tzinfo or timezone.utc)
        assert clock.local_time(due).date() == date(2026, 3, 20)
        with sh.db.session() as s:
            assert can_act(s.merge(sh.user("ziranziyuan")), zr_task)
            assert not can_act(s.merge(sh.user("jingshang")), zr_task)
        with pytest.raises(InvalidInput) as bad:
            sh.act(zr_task, "ziranziyuan", {"report": "已统筹"})
        assert "evidence" in bad.value.errors
        sh.act(zr_task, "ziranziyuan", {"report": "已从县级储备中统筹12亩", "evidence": "县自然资源和规划局函〔2026〕8号"})
        assert case_of(sh, case.id).status == "in_progress"
        sh.act(sh.task(case.instance_id, "report_item", unit=jsj), "jingshang", {"report": "政策已明确", "evidence": "经商局会议纪要"})
        sh.act(sh.task(case.instance_id, "verify_close"), "bangongshi", {"decision": "close", "opinion": "核验办结"})
        done = case_of(sh, case.id)
        assert done.status == "closed" and [i.status for i in done.items] == ["closed", "closed"]
        assert done.items[0].evidence == "县自然资源和规划局函〔2026〕8号"
        assert sh.project(pid).status == "active" and sh.project(pid).stage == "intent"
        assert sh.only_ready(pid).bpmn_id == "confirm_intent"


def drive_to_list(sh: SupervisionHelper, pid: int) -> CoordinationCase:
    case = submit(sh, pid)
    sh.act(sh.task(case.instance_id, "review_submission"), "bangongshi", {"decision": "forward", "opinion": "报审"})
    sh.act(sh.task(case.instance_id, "leader_approval"), "xianzhang", {"decision": "approve", "opinion": "同意"})
    return case


def test_overdue_item_turns_red_notifies_once_and_supports_criticism(sh: SupervisionHelper) -> None:
    with time_machine.travel(START, tick=False) as clock:
        pid = sh.register(by="anwen", name="逾期测试项目")
        case = drive_to_list(sh, pid)
        zr = sh.unit("zrzy")
        issue(sh, case.instance_id, [{"title": "办理用地预审", "responsible_unit_id": zr, "deadline": "2026-03-10"}])
        with sh.db.session() as s:
            coordination.sweep_overdue(s)
            office = s.merge(sh.user("bangongshi"))
            item_id = s.scalars(select(CoordinationItem.id)).one()
            with pytest.raises(InvalidInput) as early:
                coordination.record_criticism(s, office, zr, "未按期办结", item_id)
            assert "未逾期" in early.value.errors["item_id"]
        assert case_of(sh, case.id).items[0].light == "green"
        clock.move_to(datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc))
        with sh.db.session() as s:
            coordination.sweep_overdue(s)
        assert case_of(sh, case.id).items[0].light == "yellow"
        clock.move_to(datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc))
        with sh.db.session() as s:
            flagged = coordination.sweep_overdue(s)
            assert [i.title for i in flagged] == ["办理用地预审"]
            assert coordination.sweep_overdue(s) == []
            notes = list(s.scalars(select(Notification)))
            told = {s.get_one(User, n.user_id).username for n in notes}
            assert told == {"ziranziyuan", "bangongshi", "dukao"}, told
            assert all("逾期" in n.title and "办理用地预审" in n.title for n in notes)
        item = case_of(sh, case.id).items[0]
        assert item.light == "red" and item.overdue_at is not None
        with sh.db.session() as s:
            with pytest.raises(NotAllowed):
                coordination.record_criticism(s, s.merge(sh.user("anwen")), zr, "未按期办结", item.id)
            with pytest.raises(InvalidInput) as wrong_unit:
                coordination.record_criticism(s, s.merge(sh.user("bangongshi")), sh.unit("jsj"), "未按期办结", item.id)
            assert "责任单位" in wrong_unit.value.errors["item_id"]
        with sh.db.session() as s:
            assert s.scalars(select(func.count(Criticism.id))).one() == 0
            row = coordination.record_criticism(s, s.merge(sh.user("bangongshi")), zr, "交办事项逾期未办结，影响重大项目落地", item.id)
            assert row.year == 2026


def test_only_the_landing_unit_submits_and_bad_input_stores_nothing(sh: SupervisionHelper) -> None:
    pid = sh.register(by="anwen")
    with sh.db.session() as s:
        with pytest.raises(NotAllowed):
            coordination.submit(s, pid, s.merge(sh.user("xinwo")), {"title": "x", "problem": "y", "material": "z"})
        with pytest.raises(InvalidInput) as bad:
            coordination.submit(s, pid, s.merge(sh.user("anwen")), {"title": " ", "problem": "y"})
        assert set(bad.value.errors) == {"title", "material"}
    with sh.db.session() as s:
        assert s.scalars(select(func.count(CoordinationCase.id))).one() == 0
        assert s.scalars(select(func.count(Instance.id)).where(Instance.process_id == "coordination_item")).one() == 0


def test_bad_list_lines_are_named_and_nothing_is_issued(sh: SupervisionHelper) -> None:
    with time_machine.travel(START, tick=False):
        pid = sh.register(by="anwen")
        case = drive_to_list(sh, pid)
        task = sh.task(case.instance_id, "issue_list")
        with sh.db.session() as s:
            with pytest.raises(InvalidInput) as bad:
                coordination.issue_list(s, task.id, s.merge(sh.user("dukao")), [
                    {"title": "好的一项", "responsible_unit_id": sh.unit("jsj"), "deadline": "2026-04-01"},
                    {"title": "", "responsible_unit_id": 9999, "deadline": "2025-01-01"},
                ])
        assert set(bad.value.errors) == {"items.2.title", "items.2.responsible_unit_id", "items.2.deadline"}
        assert "第2项" in bad.value.errors["items.2.deadline"]
        assert sh.task(case.instance_id, "issue_list").id == task.id
        assert case_of(sh, case.id).items == []
