"""Read models of the officials' pages: inbox, done list, ledger, timeline, holders, signatures, diagram."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from engine.projects import queries
from engine.supervision import lights
from engine.platform.models import Project, Task
from tests.conftest import FEASIBLE, INTENT, NEGOTIATED, PASS, Helper, approval_form, drive_to_tier


def _now() -> datetime:
    return datetime.now(timezone.utc)


def test_inbox_shows_only_my_tasks_with_filters_counts_and_pages(h: Helper) -> None:
    mine = h.register_many([f"安文项目{i:02d}" for i in range(23)], by="anwen")
    h.register(by="xinwo", name="新渥项目")
    h.complete(mine[0], "anwen", INTENT)
    anwen = h.user("anwen")
    with h.db.session() as s:
        first = queries.inbox(s, anwen, queries.InboxFilter(), _now(), page=1, per_page=20)
        second = queries.inbox(s, anwen, queries.InboxFilter(), _now(), page=2, per_page=20)
        assert queries.inbox_count(s, anwen) == first.total == 22
        assert (len(first.rows), len(second.rows), first.pages) == (20, 2, 2)
        names = {r.project_name for r in first.rows + second.rows}
        assert "新渥项目" not in names and "安文项目00" not in names
        assert {r.unit_name for r in first.rows} == {"安文街道"}
        searched = queries.inbox(s, anwen, queries.InboxFilter(search="项目07"), _now())
        assert [r.project_name for r in searched.rows] == ["安文项目07"]
        assert queries.inbox(s, anwen, queries.InboxFilter(search="%"), _now()).total == 0
        assert queries.inbox(s, anwen, queries.InboxFilter(stage="feasibility"), _now()).total == 0
        assert queries.inbox(s, anwen, queries.InboxFilter(stage="intent"), _now()).total == 22
        deputy = h.user("fx_gongye")
        assert [r.project_name for r in queries.inbox(s, deputy, queries.InboxFilter(), _now()).rows] == ["安文项目00"]
        assert queries.inbox(s, anwen, queries.InboxFilter(unit_id=h.unit("xinwo")), _now()).total == 0
        newest = queries.inbox(s, anwen, queries.InboxFilter(sort="new"), _now())
        assert newest.rows[0].project_name == "安文项目22"
        out_of_range = queries.inbox(s, anwen, queries.InboxFilter(), _now(), page=99, per_page=20)
        assert out_of_range.page == 2


def test_overdue_filter_uses_the_due_time_of_the_task_table(h: Helper) -> None:
    h.register(by="anwen", name="意向项目")
    anwen = h.user("anwen")
    with h.db.session() as s:
        assert queries.inbox(s, anwen, queries.InboxFilter(), _now()).overdue == 0
        later = _now() + timedelta(days=31)
        assert queries.inbox(s, anwen, queries.InboxFilter(), later).overdue == 1
        overdue_only = queries.inbox(s, anwen, queries.InboxFilter(overdue_only=True), later)
        assert (overdue_only.total, overdue_only.overdue, overdue_only.all_ready) == (1, 1, 1)
        assert queries.inbox(s, anwen, queries.InboxFilter(overdue_only=True), _now()).total == 0
        searched = queries.inbox(s, anwen, queries.InboxFilter(search="没有这个项目"), later)
        assert (searched.total, searched.overdue, searched.all_ready) == (0, 1, 1)


def test_done_list_keeps_my_opinion_newest_first(h: Helper) -> None:
    a = h.register(by="anwen", name="甲项目")
    b = h.register(by="anwen", name="乙项目")
    h.complete(a, "anwen", {"has_intent": True, "opinion": "甲有意向"})
    h.complete(b, "anwen", {"has_intent": False, "reason": "乙无意向，资金不到位"})
    with h.db.session() as s:
        page = queries.done(s, h.user("anwen").id)
        assert [(r.project_name, r.opinion) for r in page.rows] == [("乙项目", "乙无意向，资金不到位"), ("甲项目", "甲有意向")]
        assert queries.done(s, h.user("xinwo").id).total == 0


def test_ledger_filters_counts_and_town_scope(h: Helper) -> None:
    big = h.register(by="anwen", name="七亿制造业", category="industrial", is_manufacturing=True, total_investment=70000)
    h.register(by="anwen", name="三亿工业", category="industrial", total_investment=30000)
    h.register(by="xinwo", name="文旅小项目", category="tourism", total_investment=3000, attracting_unit_id=h.unit("anwen"))
    h.register(by="xinwo", name="新渥商业", category="commerce", total_investment=50000)
    h.complete(big, "anwen", INTENT)

    def names(**kw: Any) -> list[str]:
        with h.db.session() as s:
            return [r.name for r in queries.ledger(s, queries.LedgerFilter(**kw), _now(), lights.LEDGER).page.rows]

    assert names(manufacturing_7yi=True) == ["七亿制造业"]
    assert names(industrial_3yi=True) == ["三亿工业", "七亿制造业"]
    assert names(category="tourism") == ["文旅小项目"]
    assert names(unit_id=h.unit("anwen")) == ["文旅小项目", "三亿工业", "七亿制造业"]
    assert names(visible_unit_id=h.unit("xinwo")) == ["新渥商业", "文旅小项目"]
    assert names(search="商业") == ["新渥商业"]
    assert names(stage="feasibility") == ["七亿制造业"]
    with h.db.session() as s:
        feasibility = queries.ledger(s, queries.LedgerFilter(stage="feasibility"), _now(), lights.LEDGER)
        assert feasibility.stage_counts == {"intent": 3, "feasibility": 1} and feasibility.page.total == 1
        assert queries.ledger(s, queries.LedgerFilter(visible_unit_id=h.unit("xinwo")), _now(), lights.LEDGER).stage_counts == {"intent": 2}
        row = queries.ledger(s, queries.LedgerFilter(manufacturing_7yi=True), _now(), lights.LEDGER).page.rows[0]
        assert (row.is_7yi, row.is_3yi, row.landing_unit, row.deputy, row.light) == (True, True, "安文街道", "王志刚", "green")


def test_ledger_light_filter_uses_the_warning_lights(h: Helper) -> None:
    late = h.register(by="anwen", name="逾期项目")
    h.register(by="anwen", name="按期项目")
    h.complete(late, "anwen", INTENT)
    in_20_days, in_40_days = _now() + timedelta(days=20), _now() + timedelta(days=40)

    def names(light: str, now: datetime) -> list[tuple[str, str]]:
        with h.db.session() as s:
            return [(r.name, r.light) for r in queries.ledger(s, queries.LedgerFilter(light=light), now, lights.LEDGER).page.rows]

    assert names("yellow", in_20_days) == [("逾期项目", "yellow")]
    assert names("green", in_20_days) == [("按期项目", "green")]
    assert names("red", in_20_days) == []
    assert names("yellow", in_40_days) == [("按期项目", "yellow")]
    assert names("red", in_40_days) == [("逾期项目", "red")]


def test_timeline_holders_and_signatures_follow_the_project(h: Helper) -> None:
    pid = h.register(by="anwen", name="时间线项目")
    h.complete(pid, "anwen", {"has_intent": True, "opinion": "投资方意向明确"})
    h.complete(pid, "fx_gongye", {"decision": "pass", "opinion": "论证可行"})
    with h.db.session() as s:
        entries = queries.timeline(s, pid)
        assert [(e.kind, e.actor) for e in entries] == [("start", "钱芳"), ("complete", "钱芳"), ("complete", "王志刚")]
        assert (entries[2].step, entries[2].decision_label, entries[2].opinion) == ("可行性论证", "通过", "论证可行")
        holding = queries.current_tasks(s, pid)
        assert [(x.name, x.holders) for x in holding] == [("填写落地审批表", ["钱芳（安文街道招商办）"])]
        sigs = queries.signatures(s, pid)
        assert [(x.step, x.signer, x.decision_label, x.opinion) for x in sigs] == [
            ("确认投资意向", "钱芳", "有投资意向", "投资方意向明确"),
            ("可行性论证", "王志刚", "通过", "论证可行"),
        ]
    h.complete(pid, "anwen", approval_form(True, 40))
    with h.db.session() as s:
        holders = queries.current_tasks(s, pid)[0].holders
        assert holders == ["周丽（研判小组会议秘书）"]


def test_diagram_marks_the_path_taken_and_the_current_task(h: Helper) -> None:
    pid = h.register(by="anwen", name="流程图项目")
    drive_to_tier(h, pid, "anwen", approval_form(True, 40))
    with h.db.session() as s:
        data = queries.diagram(s, pid)
    assert data.current == ["t2_deputy_review"]
    assert {"start", "confirm_intent", "gw_intent", "decide_tier", "gw_tier", "joint_inspection"} <= set(data.completed)
    assert "t1_head_consent" not in data.completed and "t2_deputy_review" not in data.completed
    assert {"f_start", "f_tier_decided", "f_tier_T2", "f_joint_pass"} <= set(data.flows)
    assert not {"f_tier_T1", "f_assessment_more_info", "f_intent_no"} & set(data.flows)
    assert data.xml.startswith("<?xml") and 'id="t2_deputy_review"' in data.xml and data.definition_version == 1


def test_diagram_follows_a_loop_back(h: Helper) -> None:
    pid = h.register(by="anwen", name="补充材料项目")
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    h.complete(pid, "anwen", approval_form(True, 40))
    h.complete(pid, "yanpan", {"decision": "more_info", "opinion": "请补充环评材料"})
    with h.db.session() as s:
        data = queries.diagram(s, pid)
    assert data.current == ["fill_approval_form"]
    assert "f_assessment_more_info" in data.flows and "f_assessment_pass" not in data.flows
    h.complete(pid, "anwen", approval_form(True, 40))
    h.complete(pid, "yanpan", PASS)
    h.complete(pid, "lingdao", PASS)
    h.complete(pid, "anwen", NEGOTIATED)
    with h.db.session() as s:
        data = queries.diagram(s, pid)
        assert data.current == ["joint_inspection"]
        assert {"f_assessment_more_info", "f_assessment_pass", "f_leading_pass", "f_negotiation_continue"} <= set(data.flows)
        assert s.scalars(select(func.count(Task.id)).where(Task.project_id == pid)).one() == 9
        assert s.get_one(Project, pid).stage == "negotiation"


def test_each_officials_ready_count_adds_up_to_the_tasks_the_permission_filter_lists(h: Helper) -> None:
    """Assigned (the deputy's review), unit-scoped (intent) and county-wide (the meeting) tasks, counted per branch."""
    from engine.platform.models import User
    from engine.platform.org import NO_DELEGATIONS, can_act, count_ready, ready_tasks_page
    from engine.projects import queries
    from tests.ready import ready_tasks_query
    to_review, to_meet = h.register(by="anwen", name="待论证"), h.register(by="anwen", name="待研判")
    h.register(by="xinwo", name="新渥待确认")
    h.complete(to_review, "anwen", INTENT)
    h.complete(to_meet, "anwen", INTENT)
    h.complete(to_meet, "fx_gongye", FEASIBLE)
    h.complete(to_meet, "anwen", approval_form(needs_land=False))
    with h.db.session() as s:
        ready = list(s.scalars(select(Task).where(Task.status == "ready")))
        kinds = {(t.scope, t.assignee_id is not None) for t in ready}
        assert {("county", False), ("landing_unit", False)} <= kinds and any(assigned for _scope, assigned in kinds)
        for user in s.scalars(select(User)):
            listed = s.scalars(ready_tasks_query(user)).all()
            # the SQL branches list exactly what the one rule of every inbox allows, and the badge counts them
            assert {t.id for t in listed} == {t.id for t in ready if can_act(user, t)}, user.username
            assert count_ready(s, user) == len(listed), user.username
            newest = sorted(listed, key=lambda t: (t.created_at, t.id), reverse=True)
            for sort, expected in (("due", [t.id for t in listed]), ("new", [t.id for t in newest])):
                # two rows a page, each page merged from the branches' own first rows, add up to the list in its order
                pages = [s.execute(ready_tasks_page(user, NO_DELEGATIONS, [], ("id", "due_at", "created_at"), queries.INBOX_ORDERS[sort], 2, offset)).scalars().all()
                         for offset in range(0, len(listed) + 2, 2)]
                assert [tid for page in pages for tid in page] == expected, (user.username, sort)
