"""Instances survive restarts: state without spec, restore mid-flow, versions kept per instance."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.projects import lifecycle
from engine.workflow import definitions, state
from engine.platform.models import Definition, Instance
from tests.conftest import BPMN_DIR, FEASIBLE, INTENT, Helper, approval_form


def test_state_row_holds_no_spec_and_restores_mid_flow(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    with h.db.session() as s:
        instance = s.scalars(select(Instance).where(Instance.project_id == pid)).one()
        stored = json.loads(instance.state)
    assert "spec" not in stored and "subprocess_specs" not in stored
    state.WORKFLOWS.clear()
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
    state.WORKFLOWS.clear()
    h.complete(pid, "anwen", approval_form(True, 25), "fill_approval_form")
    assert h.only_ready(pid).bpmn_id == "assessment_meeting"


def test_deploy_versions_by_content_and_instances_keep_their_version(h: Helper) -> None:
    files = definitions.read_bundle(BPMN_DIR)
    with h.db.session() as s:
        first, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert not created and first.version == 1
    pid_old = h.register()
    changed = dict(files)
    changed["project_lifecycle.bpmn"] = files["project_lifecycle.bpmn"].replace('name="确认投资意向"', 'name="确认投资意向（新）"')
    with h.db.session() as s:
        second, created = definitions.deploy(s, changed, lifecycle.LIFECYCLE)
    assert created and second.version == 2
    pid_new = h.register()
    assert h.only_ready(pid_old).name == "确认投资意向"
    assert h.only_ready(pid_new).name == "确认投资意向（新）"
    state.WORKFLOWS.clear()
    h.complete(pid_old, "anwen", INTENT)
    with h.db.session() as s:
        versions = {
            i.project_id: s.get_one(Definition, i.definition_id).version for i in s.scalars(select(Instance))
        }
    assert versions[pid_old] == 1 and versions[pid_new] == 2
