"""Refusals: permissions, bad input naming the field with nothing stored, concurrent completion."""
from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.projects import record
from engine.workflow import runtime
from engine.platform.errors import AlreadyCompleted, InvalidInput, NotAllowed, NotFound
from engine.platform.models import Event, Instance, Project, Task, User
from tests.conftest import FEASIBLE, INTENT, Helper


def counts(h: Helper) -> tuple[int, ...]:
    with h.db.session() as s:
        return tuple(s.scalars(select(func.count()).select_from(m)).one() for m in (Project, Instance, Task, Event))


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"needs_land": True, "land_mu": -5}, "land_mu"),
        ({"needs_land": True, "land_mu": "三十"}, "land_mu"),
        ({"category": "mining"}, "category"),
        ({"fund_request": 10001}, "fund_request"),
        ({"name": "  "}, "name"),
        ({"needs_land": False, "land_mu": 20}, "land_mu"),
        ({"total_investment": "abc"}, "total_investment"),
        ({"total_investment": -1}, "total_investment"),
        ({"landing_unit_id": 99999}, "landing_unit_id"),
    ],
)
def test_bad_registration_names_the_field_and_stores_nothing(h: Helper, fields: dict[str, Any], field: str) -> None:
    before = counts(h)
    with pytest.raises(InvalidInput) as err:
        h.register(**fields)
    assert field in err.value.errors
    assert record.label(field) in err.value.errors[field] and field not in err.value.errors[field]  # by its label, never its key
    assert counts(h) == before


def test_deputy_must_be_a_deputy(h: Helper) -> None:
    with pytest.raises(InvalidInput) as err:
        h.register(deputy_id=h.user("anwen").id)
    assert "deputy_id" in err.value.errors


def test_deputy_must_be_in_office(h: Helper) -> None:
    """A deputy who holds the role but has left (deactivated) is refused, as one who never held it."""
    deputy = h.user("fx_gongye").id
    h.register(deputy_id=deputy)  # in office: accepted
    with h.db.session() as s:
        s.get_one(User, deputy).active = False
    before = counts(h)
    with pytest.raises(InvalidInput) as err:
        h.register(deputy_id=deputy)
    assert "deputy_id" in err.value.errors and counts(h) == before


def test_bad_form_data_names_the_field_and_changes_nothing(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    before = counts(h)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"needs_land": True, "one_case_support": False, "summary": "x"}, "land_mu"),
        ({"needs_land": True, "land_mu": "abc", "one_case_support": False, "summary": "x"}, "land_mu"),
        ({"needs_land": False, "one_case_support": False, "summary": "x", "fund_request": 20000}, "fund_request"),
        ({"needs_land": False, "one_case_support": False}, "summary"),
    ]
    for data, field in cases:
        with pytest.raises(InvalidInput) as err:
            h.complete(pid, "anwen", data, "fill_approval_form")
        assert field in err.value.errors, err.value.errors
    assert counts(h) == before
    assert h.only_ready(pid).status == "ready"


def test_only_scoped_officials_may_act(h: Helper) -> None:
    pid = h.register(by="anwen")
    task = h.only_ready(pid)
    for outsider in ("xinwo", "fx_gongye", "bangongshi", "admin"):
        with h.db.session() as s, pytest.raises(NotAllowed):
            runtime.complete_task(s, task.id, s.merge(h.user(outsider)), INTENT)
    h.complete(pid, "anwen", INTENT)
    task = h.only_ready(pid)
    assert task.assignee_id == h.user("fx_gongye").id
    with h.db.session() as s, pytest.raises(NotAllowed):
        runtime.complete_task(s, task.id, s.merge(h.user("fx_wenlv")), FEASIBLE)


def test_missing_and_already_completed_tasks(h: Helper) -> None:
    pid = h.register()
    task = h.only_ready(pid)
    with h.db.session() as s, pytest.raises(NotFound):
        runtime.complete_task(s, 999999, s.merge(h.user("anwen")), INTENT)
    h.complete(pid, "anwen", INTENT)
    with h.db.session() as s, pytest.raises(AlreadyCompleted) as err:
        runtime.complete_task(s, task.id, s.merge(h.user("anwen")), INTENT)
    assert "钱芳" in err.value.message


def test_two_officials_completing_one_task_at_once(h: Helper) -> None:
    pid = h.register()
    task = h.only_ready(pid)
    users = [h.user("anwen"), h.user("anwen")]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(user: User) -> None:
        barrier.wait()
        try:
            with h.db.session() as s:
                runtime.complete_task(s, task.id, s.merge(user), INTENT)
            results.append("ok")
        except AlreadyCompleted:
            results.append("already")

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already", "ok"]
    ready = h.ready(pid)
    assert [t.bpmn_id for t in ready] == ["feasibility_review"]
    with h.db.session() as s:
        completions = s.scalars(select(func.count()).select_from(Event).where(Event.kind == "complete", Event.project_id == pid)).one()
    assert completions == 1
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")


def test_meeting_steps_are_decided_at_their_meeting_unless_the_project_is_major(h: Helper) -> None:
    ordinary, major = h.register(), h.register(is_major=True)
    for pid in (ordinary, major):
        h.complete(pid, "anwen", INTENT)
        h.complete(pid, "fx_gongye", FEASIBLE)
        h.complete(pid, "anwen", {"needs_land": False, "one_case_support": False, "summary": "概况"})
    task = h.only_ready(ordinary)
    assert task.bpmn_id == "assessment_meeting"
    before = counts(h)
    with h.db.session() as s, pytest.raises(NotAllowed) as err:
        runtime.complete_task(s, task.id, s.merge(h.user("yanpan")), {"decision": "pass", "opinion": "同意"})
    assert "会议" in err.value.message and counts(h) == before
    with h.db.session() as s:
        runtime.complete_task(s, h.only_ready(major).id, s.merge(h.user("yanpan")), {"decision": "pass", "opinion": "同意"})
    assert h.only_ready(major).bpmn_id == "leading_group_review"
