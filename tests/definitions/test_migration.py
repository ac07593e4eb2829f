"""Migrating running projects to a newer version: compatible ones move and their tasks follow,
incompatible ones are refused with the reason and left untouched; every migration is logged."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.workflow import migration, state
from engine.platform.errors import NotAllowed
from engine.platform.models import Definition, Event, Instance, Task
from tests.conftest import FEASIBLE, INTENT, Helper, approval_form, drive_to_tier
from tests.definitions.bundles import BPMN, CASES, DMN, RAISE_20_TO_25, deploy, edited, renamed, without_feasibility


def instance_of(h: Helper, project_id: int) -> Instance:
    with h.db.session() as s:
        row = s.scalars(select(Instance).where(Instance.project_id == project_id)).one()
        s.expunge(row)
        return row


def version_of(h: Helper, project_id: int) -> int:
    with h.db.session() as s:
        instance = s.scalars(select(Instance).where(Instance.project_id == project_id)).one()
        return s.get_one(Definition, instance.definition_id).version


def migrate(h: Helper, project_id: int, target: Definition, by: str = "bangongshi") -> migration.Compatibility:
    with h.db.session() as s:
        return migration.migrate(s, instance_of(h, project_id).id, target.id, s.merge(h.user(by)))


def snapshot(h: Helper, project_id: int) -> tuple[Any, ...]:
    """Everything a refused migration must leave as it was."""
    with h.db.session() as s:
        instance = s.scalars(select(Instance).where(Instance.project_id == project_id)).one()
        tasks = [(t.id, t.name, t.status, t.due_at) for t in s.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id))]
        events = [e.id for e in s.scalars(select(Event).where(Event.project_id == project_id))]
        return instance.definition_id, instance.revision, instance.state, tasks, events


def test_renamed_task_and_new_due_duration_follow_a_migrated_project(h: Helper) -> None:
    old = h.register(name="老项目")
    v2 = deploy(h.db, edited(BPMN, renamed("确认投资意向", "确认投资意向（首次洽谈）", ("P30D", "P20D"))))
    new = h.register(name="新项目")
    assert h.only_ready(new).name == "确认投资意向（首次洽谈）"
    assert h.only_ready(old).name == "确认投资意向"
    before = h.only_ready(old)

    result = migrate(h, old, v2)

    assert result.migrated and (result.from_version, result.to_version) == (1, 2)
    after = h.only_ready(old)
    assert (after.id, after.spiff_task_id) == (before.id, before.spiff_task_id)
    assert after.name == "确认投资意向（首次洽谈）"
    assert after.due_at - after.created_at == timedelta(days=20)
    assert version_of(h, old) == 2
    with h.db.session() as s:
        event = s.scalars(select(Event).where(Event.project_id == old, Event.kind == "migrate")).one()
    assert event.actor_id == h.user("bangongshi").id
    assert event.payload["from_version"] == 1 and event.payload["to_version"] == 2
    assert "第1版迁移到第2版" in event.summary


def test_a_migrated_project_runs_on_in_the_new_version(h: Helper) -> None:
    pid = h.register()
    v2 = deploy(h.db, edited(BPMN, renamed("可行性论证", "可行性与必要性论证", ("P15D", "P10D"))))
    migrate(h, pid, v2)
    state.WORKFLOWS.clear()  # the next step restores the stored state over the new version's spec
    h.complete(pid, "anwen", INTENT, "confirm_intent")
    task = h.only_ready(pid)
    assert (task.bpmn_id, task.name) == ("feasibility_review", "可行性与必要性论证")
    assert task.due_at - task.created_at == timedelta(days=10)
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
    assert h.only_ready(pid).bpmn_id == "fill_approval_form"


def test_removed_current_task_is_refused_with_the_reason_and_nothing_changes(h: Helper) -> None:
    pid = h.register(name="论证中的项目")
    h.complete(pid, "anwen", INTENT)
    v2 = deploy(h.db, edited(BPMN, without_feasibility))
    before = snapshot(h, pid)
    with pytest.raises(NotAllowed) as err:
        migrate(h, pid, v2)
    assert "正在办理的步骤“可行性论证”（feasibility_review）在新版本中已删除" in err.value.message
    assert "已办理的步骤“有无投资意向”（gw_intent）在新版本中修改了出口连线" in err.value.message
    assert snapshot(h, pid) == before
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")  # it carries on in its own version


def test_changed_completed_gateway_is_refused_but_an_untouched_path_migrates(h: Helper) -> None:
    ahead = h.register(name="已过意向")
    h.complete(ahead, "anwen", INTENT)
    h.register(name="待确认意向")
    changed_condition = edited(BPMN, lambda t: t.replace("has_intent == True", "has_intent == True and total_investment > 0", 1))
    v2 = deploy(h.db, changed_condition)
    with h.db.session() as s:
        results = {r.project_name: r for r in migration.preview(s, migration.candidates(s, "project_lifecycle"), s.get_one(Definition, v2.id))}
    assert results["待确认意向"].ok
    assert results["已过意向"].reasons == ["已办理的步骤“有无投资意向”（gw_intent）在新版本中修改了分支条件"]


def test_bulk_migration_with_a_filter_moves_only_matching_compatible_projects(h: Helper) -> None:
    first, second = h.register(name="甲"), h.register(name="乙")
    later = h.register(name="丙")
    h.complete(later, "anwen", INTENT)
    v2 = deploy(h.db, edited(BPMN, renamed("确认投资意向", "确认意向")))
    with h.db.session() as s:
        chosen = migration.candidates(s, "project_lifecycle", current_tasks=["confirm_intent"])
        assert sorted(i.project_id for i in chosen) == [first, second]
        bulk = migration.migrate_many(s, chosen, s.get_one(Definition, v2.id), s.merge(h.user("bangongshi")))
    assert len(bulk.migrated) == 2 and not bulk.refused
    assert [version_of(h, p) for p in (first, second, later)] == [2, 2, 1]
    assert h.only_ready(first).name == h.only_ready(second).name == "确认意向"


def test_bulk_migration_reports_refusals_and_migrates_the_rest(h: Helper) -> None:
    ok = h.register(name="可迁移")
    blocked = h.register(name="不可迁移")
    h.complete(blocked, "anwen", INTENT)
    v2 = deploy(h.db, edited(BPMN, without_feasibility))
    with h.db.session() as s:
        bulk = migration.migrate_many(s, migration.candidates(s, "project_lifecycle"), s.get_one(Definition, v2.id), None)
    assert [r.project_name for r in bulk.migrated] == ["可迁移"]
    assert [r.project_name for r in bulk.refused] == ["不可迁移"]
    assert any("feasibility_review" in reason for reason in bulk.refused[0].reasons)
    assert (version_of(h, ok), version_of(h, blocked)) == (2, 1)


def test_only_newer_versions_of_the_same_process_and_running_instances(hs: Helper) -> None:
    pid = hs.register()
    v2 = deploy(hs.db, edited(BPMN, renamed("确认投资意向", "确认意向")))
    migrate(hs, pid, v2)
    with hs.db.session() as s:
        v1 = s.scalars(select(Definition).where(Definition.version == 1)).one()
        s.expunge(v1)
    with pytest.raises(NotAllowed) as err:
        migrate(hs, pid, v1)
    assert "只能迁移到更新的版本" in err.value.message
    v3 = deploy(hs.db, edited(BPMN, renamed("确认投资意向", "确认意向2")))
    with hs.db.session() as s:
        s.get_one(Instance, instance_of(hs, pid).id).status = "suspended"
    with pytest.raises(NotAllowed) as err:
        migrate(hs, pid, v3)
    assert "只有运行中的实例可以迁移" in err.value.message


def test_tier_route_after_migration_uses_the_new_version(hs: Helper) -> None:
    """A project migrated before its tier decision is decided by the new version's table."""
    pid = hs.register(category="health", needs_land=True, land_mu=22)
    files = edited(DMN, lambda t: _apply(t, RAISE_20_TO_25))
    cases = json.loads(files[CASES])
    cases["cases"][2]["expected"]["tier"] = "T1"
    files[CASES] = json.dumps(cases, ensure_ascii=False)
    v2 = deploy(hs.db, files)
    result = migrate(hs, pid, v2)
    assert result.migrated
    drive_to_tier(hs, pid, "anwen", approval_form(True, 22))
    assert hs.project(pid).tier == "T1"


def _apply(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def test_a_project_past_its_tier_decision_migrates_to_a_new_table_and_keeps_its_tier(hs: Helper) -> None:
    """The decision already made stands; the project runs on in the new version."""
    pid = hs.register(category="health", needs_land=True, land_mu=22)
    drive_to_tier(hs, pid, "anwen", approval_form(True, 22))
    assert hs.project(pid).tier == "T2"
    files = edited(DMN, lambda t: _apply(t, RAISE_20_TO_25))
    cases = json.loads(files[CASES])
    cases["cases"][2]["expected"]["tier"] = "T1"
    files[CASES] = json.dumps(cases, ensure_ascii=False)
    v2 = deploy(hs.db, files)
    step = hs.only_ready(pid).bpmn_id
    result = migrate(hs, pid, v2)
    assert result.ok and result.migrated and version_of(hs, pid) == 2
    assert hs.project(pid).tier == "T2" and hs.only_ready(pid).bpmn_id == step
    hs.complete(pid, "fx_gongye", {"decision": "approve", "opinion": "同意"}, step)
    assert hs.only_ready(pid).bpmn_id != step
