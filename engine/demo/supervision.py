"""The demo county's supervision and administration, each done through the engine's own functions on its day.

交办单: one overdue and criticised, one in progress, one just raised; annual targets; the closed
quarter finalised; 会商意见; a suspended project; an official who left (an orphaned task); a leave
delegation in force and a claimed group task.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.demo import samples
from engine.demo.projects import MAX_BYTES, Cast, ready_lifecycle_task
from engine.demo.timeline import Action, Calendar, Replay
from engine.platform.attachments import Upload
from engine.platform.models import Instance, Project, Task
from engine.projects import comments, lifecycle
from engine.supervision import assessment, coordination, rankings
from engine.supervision.models import CoordinationCase
from engine.workflow import admin, handover, orphans, runtime

DEPARTED = "fangqian"
"""The official who left: the only 落地单位 official of 方前镇, so its new project's task waits for nobody."""
TARGETS = {  # unit code → annual targets (counts; amounts in 万元); 县经商局 has none and still lands a 7亿+ project
    "jinpan": {"mfg_7yi": 1, "ind_3yi": 2, "yi_plus": 3, "foreign_capital": 5000, "out_of_province_capital": 80000, "mfg_funds": 30000},
    "gyyq": {"mfg_7yi": 1, "ind_3yi": 2, "yi_plus": 2, "foreign_capital": 2000, "out_of_province_capital": 50000, "mfg_funds": 20000},
    "xincheng": {"mfg_7yi": 1, "ind_3yi": 1, "yi_plus": 2, "out_of_province_capital": 30000, "mfg_funds": 10000},
    "xinwo": {"yi_plus": 2, "out_of_province_capital": 30000},
    "dapan": {"yi_plus": 1, "out_of_province_capital": 20000},
    "anwen": {"yi_plus": 1}, "yushan": {"yi_plus": 1}, "jianshan": {"yi_plus": 1}, "renchuan": {"yi_plus": 1},
}


@dataclass(frozen=True)
class Item:
    """One line of a 交办单: what, which unit (by code), its deadline, and its report if the unit made one."""

    title: str
    unit: str
    deadline: date
    report: Optional[tuple[datetime, str, str]] = None  # when, what was done, the evidence


@dataclass(frozen=True)
class Case:
    """A problem raised for county coordination on a demo project, how far it went, and a file the raising unit attached."""

    project: str
    title: str
    problem: str
    material: str
    raised: datetime
    upload: Optional[Upload] = None
    steps: tuple[datetime, ...] = ()  # office review, the principal leader's approval, the list issued
    items: tuple[Item, ...] = ()


def cases(cal: Calendar) -> list[Case]:
    """The overdue 交办单 of the closed quarter, the one in progress and the one just raised."""
    D, R, on = cal.quarter_day, cal.ago, cal.quarter_date
    return [
        Case("大盘山康养度假综合体", "大盘山康养度假综合体林地占用指标协调",
             "项目选址涉及林地约12亩，林地占用指标和青苗补偿等政策处理进度滞后，影响项目审批。",
             "1. 项目选址红线图；2. 林地现状调查报告；3. 政策处理工作方案。", D(5),
             Upload("林地占用情况说明.pdf", samples.pdf("林地占用情况说明", [
                 "项目：大盘山康养度假综合体", "涉及林地：约12亩（公益林0亩）", "报送单位：大盘镇人民政府"])),
             (D(7), D(9), D(11)),
             (Item("协调解决项目林地占用指标", "zrzy", on(35),
                   (D(33), "林地占用指标已报省林业局审批并取得批复。", "省林业局林地使用审核同意书")),
              Item("完成项目地块青苗补偿等政策处理", "dapan", on(45)))),
        Case("中药材精深加工产业园", "中药材精深加工产业园供电线路迁改协调",
             "项目地块内有10千伏供电线路穿越，需迁改后方可平整场地，迁改方案需供电公司和县级部门共同协调。",
             "1. 线路走向图；2. 迁改初步方案。", R(20),
             Upload("供电线路迁改示意图.png", samples.png([85, 60, 95, 45, 70])),
             (R(18), R(16), R(14)),
             (Item("协调供电公司完成10千伏线路迁改方案", "jsj", cal.date_ago(-10)),
              Item("出具项目用地规划条件", "zrzy", cal.date_ago(-2)),
              Item("完成地块内坟墓迁移政策处理", "gyyq", cal.date_ago(-6), (R(3), "地块内6座坟墓已全部迁移。", "迁坟协议及现场照片")))),
        Case("城区商业综合体", "城区商业综合体周边道路提升协调",
             "项目开业前需完成周边道路拓宽和公交站点迁移，涉及交通、住建等多个部门。", "1. 周边道路现状图；2. 交通影响评价初稿。", R(2)),
    ]


def schedule(replay: Replay, cast: Cast) -> None:
    """Put the supervision and administration steps on the replay."""
    cal = replay.calendar
    D, R = cal.quarter_day, cal.ago
    for year in sorted({cal.year, cal.today.year}):
        replay.add(cal.day(date(year, 1, 8)), _targets(cast, year))
    case_ids: dict[str, int] = {}
    for case in cases(cal):
        _schedule_case(replay, cast, case, case_ids)
    overdue = cases(cal)[0]
    replay.add(D(60), _criticism(cast, overdue.title, case_ids))
    replay.add(D(40), _attachment(cast, "jinpan", "年产5万吨新型环保材料项目",
                                  Upload("厂区总平面布置图.png", samples.png([90, 75, 55, 80, 35, 65]))))
    for moment, author, project, body in (
        (D(20), "dapan", "大盘山康养度假综合体", "@梁平 林地占用指标的报批材料已补齐，请协助加快出具审查意见。"),
        (D(21), "ziranziyuan", "大盘山康养度假综合体", "材料已收到，林地占用指标需报省林业局审批，我局正在加急办理。"),
        (R(15), "fx_wenlv", "高山茶文化旅游小镇", "@徐伟 项目洽谈已超期两个多月，请尽快说明进展和存在的困难。"),
        (R(9), "bangongshi", "年产5万吨新型环保材料项目", "项目已进入开工准备阶段，请@刘洋 每月及时更新项目进展，开工前的手续问题可随时报办公室协调。"),
        (R(7), "fx_gongye", "中药材精深加工产业园", "供电线路迁改是开工前置条件，请县经商局牵头，务必在交办时限内完成。"),
    ):
        replay.add(moment, _comment(cast, author, project, body))
    replay.add(R(30), _suspension(cast, "养老服务中心", "投资方股权结构调整，待补充新的出资能力证明后恢复审批"))
    replay.add(R(4), _departure(cast, DEPARTED, "高燕调任县农业农村局，方前镇招商办接任人员尚未到岗"))
    replay.add(R(2), _claim(cast, "yanpan", "智能电动工具生产基地"))
    replay.add(R(1), _leave(cast, "fx_wenlv", "fx_nongye", cal.date_ago(1), cal.date_ago(-10), "赴省委党校参加专题培训"))
    replay.add(cal.day(cal.last + timedelta(days=5), 9), _finalise(cast, cal))


def _targets(cast: Cast, year: int) -> Action:
    def set_targets(session: Session) -> None:
        for code, values in TARGETS.items():
            assessment.set_target(session, cast.users["bangongshi"], year, cast.units[code], values)
    return set_targets


def _case_task(session: Session, case_id: int, bpmn_id: str, unit_id: Optional[int] = None) -> Task:
    """The ready task of a 交办单's process at that step (for one responsible unit's item)."""
    case = session.get_one(CoordinationCase, case_id)
    query = select(Task).where(Task.instance_id == case.instance_id, Task.bpmn_id == bpmn_id, Task.status == "ready")
    if unit_id is not None:
        query = query.where(Task.unit_id == unit_id)
    return session.scalars(query).one()


def _schedule_case(replay: Replay, cast: Cast, case: Case, case_ids: dict[str, int]) -> None:
    """Raise the case, attach its file, then review, approve and issue it as far as it went; each item reported on its day."""
    def raise_case(session: Session) -> None:
        project = session.get_one(Project, cast.projects[case.project])
        actor = cast.staff(project.landing_unit_id, "coordination.submit")
        assert actor is not None
        row = coordination.submit(session, project.id, actor, {"title": case.title, "problem": case.problem, "material": case.material})
        case_ids[case.title] = row.id
        if case.upload is not None:
            coordination.attach(session, cast.store, case.upload, row.id, actor, MAX_BYTES)

    def act(bpmn_id: str, data: dict[str, Any]) -> Action:
        def step(session: Session) -> None:
            task = _case_task(session, case_ids[case.title], bpmn_id)
            runtime.complete_task(session, task.id, cast.actor(task), data)
        return step

    def issue(session: Session) -> None:
        task = _case_task(session, case_ids[case.title], "issue_list")
        lines = [{"title": i.title, "responsible_unit_id": cast.units[i.unit], "deadline": i.deadline.isoformat()} for i in case.items]
        coordination.issue_list(session, task.id, cast.actor(task), lines, "请各责任单位在时限内办结并报告办理情况")

    timed: list[tuple[datetime, Action]] = [(case.raised, raise_case)]
    for moment, step in zip(case.steps, (act("review_submission", {"decision": "forward", "opinion": "情况属实，需县级层面协调，报县主要领导审定"}),
                                         act("leader_approval", {"decision": "approve", "opinion": "同意，请县督考办交办"}), issue)):
        timed.append((moment, step))
    replay.chain(timed)
    for item in case.items:
        if item.report is not None:
            moment, report, evidence = item.report
            replay.add(moment, _report(cast, case.title, item.unit, report, evidence, case_ids))


def _report(cast: Cast, title: str, unit: str, report: str, evidence: str, case_ids: dict[str, int]) -> Action:
    def step(session: Session) -> None:
        task = _case_task(session, case_ids[title], "report_item", cast.units[unit])
        runtime.complete_task(session, task.id, cast.actor(task), {"report": report, "evidence": evidence})
    return step


def _criticism(cast: Cast, title: str, case_ids: dict[str, int]) -> Action:
    def step(session: Session) -> None:
        case = session.get_one(CoordinationCase, case_ids[title])
        late = next(i for i in case.items if i.status == "open")
        reason = f"{case.project.name}项目“{late.title}”逾期未完成（办结时限{late.deadline:%Y年%m月%d日}）"
        coordination.record_criticism(session, cast.users["dukao"], late.responsible_unit_id, reason, late.id)
    return step


def _attachment(cast: Cast, username: str, project: str, upload: Upload) -> Action:
    def step(session: Session) -> None:
        cast.attach(session, upload, cast.users[username], project)
    return step


def _comment(cast: Cast, username: str, project: str, body: str) -> Action:
    def step(session: Session) -> None:
        comments.post(session, cast.projects[project], cast.users[username], body)
    return step


def _lifecycle_instance(session: Session, project_id: int) -> Instance:
    query = select(Instance).where(Instance.project_id == project_id, Instance.process_id == lifecycle.LIFECYCLE)
    return session.scalars(query).one()


def _suspension(cast: Cast, project: str, reason: str) -> Action:
    def step(session: Session) -> None:
        admin.suspend(session, _lifecycle_instance(session, cast.projects[project]).id, cast.users["admin"], reason)
    return step


def _departure(cast: Cast, username: str, reason: str) -> Action:
    def step(session: Session) -> None:
        admin.set_user_active(session, cast.users[username].id, False, cast.users["admin"], reason)
        orphans.check(session)  # what the commit of this change judges, on its own day (the demo's past is one transaction)
    return step


def _claim(cast: Cast, username: str, project: str) -> Action:
    def step(session: Session) -> None:
        handover.claim(session, ready_lifecycle_task(session, cast.projects[project]).id, cast.users[username])
    return step


def _leave(cast: Cast, username: str, colleague: str, first: date, last: date, reason: str) -> Action:
    def step(session: Session) -> None:
        handover.delegate_period(session, cast.users[colleague].id, first, last, cast.users[username], reason)
    return step


def _finalise(cast: Cast, cal: Calendar) -> Action:
    def step(session: Session) -> None:
        rankings.publish(session, cast.users["bangongshi"], cal.year, cal.quarter)
        if cal.year < cal.today.year:  # the closed quarter ended its year: the year's assessment is finalised too
            rankings.publish(session, cast.users["bangongshi"], cal.year, 0)
    return step
