"""Batched meeting steps: agenda from the BPMN's meeting property, one transaction per sitting, major projects."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from engine.projects import meetings
from engine.platform.errors import InvalidInput, NotAllowed
from engine.platform.models import Event, Task
from tests.conftest import FEASIBLE, INTENT, Helper, approval_form

MEETING = {"held_on": "2026-11-20", "attendees": "县委副书记、分管副县长、发改局、经商局", "host": "县委副书记", "location": "县行政中心3楼"}


def _to_assessment(h: Helper, name: str, by: str = "anwen", **fields: object) -> int:
    pid = h.register(by=by, name=name, **fields)
    h.complete(pid, by, INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    h.complete(pid, by, approval_form(True, 40))
    return pid


def _open(h: Helper, by: str = "yanpan", kind: str = "assessment", **fields: str) -> int:
    with h.db.session() as s:
        return meetings.open_meeting(s, kind, {**MEETING, **fields}, s.merge(h.user(by))).id


def _items(h: Helper, meeting_id: int) -> dict[int, int]:
    """project id -> agenda item id."""
    with h.db.session() as s:
        return {i.project_id: i.id for i in meetings.agenda(s, meeting_id)}


def test_meeting_steps_come_from_the_bpmn_property(h: Helper) -> None:
    with h.db.session() as s:
        kinds = meetings.kinds(s)
    assert [(k.key, k.name, k.role) for k in kinds.values()] == [
        ("assessment", "研判小组会议", "assessment_group"),
        ("leading_group", "领导小组会议", "leading_group"),
        ("county_head_meeting", "县长办公会议", "county_head_meeting"),
        ("standing_committee", "县委常委会", "standing_committee"),
    ]


def test_only_the_secretary_or_the_office_opens_and_bad_fields_store_nothing(h: Helper) -> None:
    _to_assessment(h, "待研判项目")
    with pytest.raises(NotAllowed):
        _open(h, by="anwen")
    with pytest.raises(NotAllowed):
        _open(h, by="lingdao")
    with pytest.raises(InvalidInput) as bad:
        _open(h, held_on="2026-13-45", attendees=" ")
    assert bad.value.errors["held_on"] == "会议日期不是有效日期，收到“2026-13-45”"
    assert bad.value.errors["attendees"] == "参会人员不能为空"
    with h.db.session() as s:
        assert s.scalars(select(func.count(meetings.Meeting.id))).one() == 0
    assert _open(h, by="bangongshi") > 0


def test_nothing_waiting_means_no_meeting(h: Helper) -> None:
    with pytest.raises(InvalidInput) as empty:
        _open(h)
    assert "没有等待研判小组会议审议的项目" in empty.value.errors["_form"]


def test_one_submission_decides_every_project_or_none(h: Helper) -> None:
    a, b, c = (_to_assessment(h, f"项目{x}") for x in "甲乙丙")
    other = _to_assessment(h, "新渥项目", by="xinwo")
    meeting_id = _open(h)
    items = _items(h, meeting_id)
    assert sorted(items) == sorted([a, b, c, other])
    yanpan = h.user("yanpan")
    submitted = {
        items[a]: {"decision": "pass", "opinion": "同意提交领导小组审议"},
        items[b]: {"decision": "more_info", "opinion": ""},
        items[c]: {"decision": meetings.DEFER},
        items[other]: {"decision": "reject", "opinion": "不符合产业导向"},
    }
    with pytest.raises(InvalidInput) as bad:
        with h.db.session() as s:
            meetings.record_decisions(s, meeting_id, s.merge(yanpan), submitted)
    assert bad.value.errors == {f"item-{items[b]}-opinion": "意见为必填项"}
    assert [h.only_ready(p).bpmn_id for p in (a, b, c, other)] == ["assessment_meeting"] * 4
    with h.db.session() as s:
        assert s.get_one(meetings.Meeting, meeting_id).status == "open"
    submitted[items[b]]["opinion"] = "请补充环评材料"
    with h.db.session() as s:
        assert meetings.record_decisions(s, meeting_id, s.merge(yanpan), submitted) == 3
    assert h.only_ready(a).bpmn_id == "leading_group_review"
    assert h.only_ready(b).bpmn_id == "fill_approval_form"
    assert h.only_ready(c).bpmn_id == "assessment_meeting"
    assert h.ready(other) == [] and h.project(other).status == "closed"
    with h.db.session() as s:
        meeting = s.get_one(meetings.Meeting, meeting_id)
        recorded = {i.project_id: (i.decision, i.opinion) for i in meetings.agenda(s, meeting_id)}
        assert (meeting.status, meeting.closed_by, meetings.title(meeting)) == ("closed", yanpan.id, "2026年第1次研判小组会议")
        assert recorded[a] == ("pass", "同意提交领导小组审议") and recorded[c][0] == meetings.DEFERRED
        logged = s.scalars(select(Event.summary).where(Event.kind == "meeting", Event.project_id == a)).all()
        assert logged == ["2026年第1次研判小组会议（2026-11-20）审议：通过"]
    with pytest.raises(InvalidInput):
        with h.db.session() as s:
            meetings.record_decisions(s, meeting_id, s.merge(yanpan), submitted)
    assert _open(h, held_on="2026-12-18") > meeting_id
    with h.db.session() as s:
        second = s.scalars(select(meetings.Meeting).order_by(meetings.Meeting.id.desc())).first()
        assert second.number == 2 and [i.project_id for i in meetings.agenda(s, second.id)] == [c]


def test_the_office_convenes_but_only_the_secretary_records(h: Helper) -> None:
    pid = _to_assessment(h, "办公室召集项目")
    meeting_id = _open(h, by="bangongshi")
    item = _items(h, meeting_id)[pid]
    with pytest.raises(NotAllowed):
        with h.db.session() as s:
            meetings.record_decisions(s, meeting_id, s.merge(h.user("bangongshi")), {item: {"decision": "pass", "opinion": "同意"}})
    assert h.only_ready(pid).bpmn_id == "assessment_meeting"


def test_a_project_on_an_open_agenda_is_not_put_on_a_second_one(h: Helper) -> None:
    _to_assessment(h, "已上会项目")
    _open(h)
    with pytest.raises(InvalidInput) as twice:
        _open(h, held_on="2026-11-21")
    assert "已列入其他尚未结束的会议" in twice.value.errors["_form"]


def test_major_project_is_decided_outside_the_meeting(h: Helper) -> None:
    normal = _to_assessment(h, "普通项目")
    major = _to_assessment(h, "重大项目", is_major=True)
    meeting_id = _open(h)
    items = _items(h, meeting_id)
    with h.db.session() as s:
        for pid, allowed in ((normal, False), (major, True)):
            task = s.scalars(select(Task).where(Task.project_id == pid, Task.status == "ready")).one()
            assert meetings.individual_decision_allowed(s, task, task.project) is allowed
    h.complete(major, "yanpan", {"decision": "pass", "opinion": "重大项目随时研判通过"})
    with h.db.session() as s:
        decided = meetings.record_decisions(
            s, meeting_id, s.merge(h.user("yanpan")), {items[normal]: {"decision": "pass", "opinion": "同意"}}
        )
        recorded = {i.project_id: i.decision for i in meetings.agenda(s, meeting_id)}
    assert decided == 1 and recorded == {normal: "pass", major: meetings.HANDLED_ELSEWHERE}
    assert h.only_ready(major).bpmn_id == "leading_group_review"


def test_only_the_office_flags_a_project_major(h: Helper) -> None:
    pid = h.register(by="anwen", name="待认定项目")
    with pytest.raises(NotAllowed):
        with h.db.session() as s:
            meetings.set_major(s, pid, True, s.merge(h.user("anwen")))
    with h.db.session() as s:
        meetings.set_major(s, pid, True, s.merge(h.user("bangongshi")))
    assert h.project(pid).is_major
    with h.db.session() as s:
        assert s.scalars(select(Event.summary).where(Event.kind == "major")).all() == ["陈晓明认定为重大项目"]


def test_meeting_numbers_restart_each_year(h: Helper) -> None:
    pid = _to_assessment(h, "跨年项目")
    december = _open(h, held_on="2026-12-30")
    with h.db.session() as s:
        item = meetings.agenda(s, december)[0].id
    with pytest.raises(InvalidInput) as unconfirmed:  # every project deferred: closing needs a confirmation
        with h.db.session() as s:
            meetings.record_decisions(s, december, s.merge(h.user("yanpan")), {item: {"decision": meetings.DEFER}})
    assert "全部暂缓审议" in unconfirmed.value.errors[meetings.ALL_DEFERRED]
    with h.db.session() as s:
        assert s.get_one(meetings.Meeting, december).status == "open"
        meetings.record_decisions(s, december, s.merge(h.user("yanpan")), {item: {"decision": meetings.DEFER}}, all_deferred_confirmed=True)
    january = _open(h, held_on="2027-01-15")
    with h.db.session() as s:
        numbers = [(m.held_on, m.number) for m in (s.get(meetings.Meeting, december), s.get(meetings.Meeting, january))]
        assert [i.project_id for i in meetings.agenda(s, january)] == [pid]
    assert numbers == [(date(2026, 12, 30), 1), (date(2027, 1, 15), 1)]
