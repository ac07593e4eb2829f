"""Versions: the list with running counts, element diffs, drafts, uploads and roll back."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.projects import lifecycle
from engine.workflow import definitions, parser, versions
from engine.platform.errors import DefinitionInvalid, InvalidInput
from engine.platform.models import Definition, Event
from engine.workflow.parser import ZhikongParser
from tests.conftest import INTENT, Helper
from tests.definitions.bundles import BPMN, BUNDLE, DMN, deploy, edited, renamed, without_feasibility

NEW_FLOW_CONDITION = ("has_intent == True", "has_intent == True and total_investment >= 100")


def test_version_list_shows_who_when_hash_and_running_instances(h: Helper) -> None:
    h.register()
    h.register()
    v2 = deploy(h.db, edited(BPMN, renamed("确认投资意向", "确认意向")))
    h.register()
    with h.db.session() as s:
        rows = versions.version_list(s)[lifecycle.LIFECYCLE]
    assert [(r.version, r.running, r.latest) for r in rows] == [(2, 1, True), (1, 2, False)]
    assert rows[0].deployed_by == "陈晓明" and rows[0].content_hash == v2.content_hash
    assert rows[1].deployed_by == "命令行部署"


def test_diff_lists_tasks_and_flows_added_removed_and_changed(hs: Helper) -> None:
    files = edited(BPMN, renamed("确认投资意向", "确认意向", ("P30D", "P20D")))
    files[BPMN] = files[BPMN].replace(*NEW_FLOW_CONDITION, 1)
    files[DMN] = files[DMN].replace("<text>&gt; 50</text>", "<text>&gt;= 50.01</text>", 1)
    deploy(hs.db, files)
    with hs.db.session() as s:
        d = versions.diff(s, lifecycle.LIFECYCLE, 1, 2)
    task = next(c for c in d.tasks if c.id == "confirm_intent")
    assert task.kind == "changed" and task.details == ["办理时限：P30D → P20D", "名称：确认投资意向 → 确认意向"]
    flow = next(c for c in d.flows if c.id == "f_intent_yes")
    assert flow.details == [f"条件：{NEW_FLOW_CONDITION[0]} → {NEW_FLOW_CONDITION[1]}"]
    rule = next(c for c in d.rules if c.id == "approval_tier:rule_6")
    assert (rule.kind, rule.label, rule.details) == ("changed", "approval_tier 规则 rule_6（第6行）", ["用地面积(亩)：> 50 → >= 50.01"])
    assert len(d.tasks) == 1 and len(d.flows) == 1 and len(d.rules) == 1 and not d.files


def test_diff_of_removed_elements(hs: Helper) -> None:
    deploy(hs.db, edited(BPMN, without_feasibility))
    with hs.db.session() as s:
        d = versions.diff(s, lifecycle.LIFECYCLE, 1, 2)
    removed = {c.id for c in d.tasks if c.kind == "removed"}
    assert removed == {"feasibility_review", "gw_feasibility", "end_feasibility_failed"}
    assert {c.id for c in d.flows if c.kind == "removed"} == {"f_feasibility_done", "f_feasibility_pass", "f_feasibility_renegotiate", "f_feasibility_fail"}
    assert [c.details for c in d.flows if c.id == "f_intent_yes"] == [["终点：feasibility_review → fill_approval_form"]]


def test_roll_back_redeploys_an_earlier_version_even_when_identical_to_the_latest(h: Helper) -> None:
    v2 = deploy(h.db, edited(BPMN, renamed("确认投资意向", "确认意向")))
    with h.db.session() as s:
        me = s.merge(h.user("bangongshi"))
        with pytest.raises(InvalidInput) as refused:
            versions.rollback(s, lifecycle.LIFECYCLE, 1, me, " ")
        assert refused.value.errors == {"reason": "回滚原因不能为空"}
        v3 = versions.rollback(s, lifecycle.LIFECYCLE, 1, me, "第2版改名有误")
        assert (v3.version, v3.note) == (3, "回滚到第1版：第2版改名有误")
        v1 = versions.version(s, lifecycle.LIFECYCLE, 1)
        assert v3.content_hash == v1.content_hash != v2.content_hash
        v4 = versions.rollback(s, lifecycle.LIFECYCLE, 1, me, "再次回滚")
        assert v4.version == 4 and v4.content_hash == v1.content_hash
        deploys = s.scalars(select(Event).where(Event.kind == "deploy").order_by(Event.id)).all()
    assert [e.payload["version"] for e in deploys] == [1, 2, 3, 4]
    assert deploys[-1].actor_id == h.user("bangongshi").id
    with h.db.session() as s:
        logged = s.scalars(select(Event).where(Event.kind == "definition_rollback").order_by(Event.id)).all()
    assert [(e.payload["from_version"], e.payload["version"], e.payload["reason"]) for e in logged] == [(1, 3, "第2版改名有误"), (1, 4, "再次回滚")]
    assert "回滚到第1版（部署为第3版）：第2版改名有误" in logged[0].summary
    pid = h.register()
    assert h.only_ready(pid).name == "确认投资意向"


def test_roll_back_is_validated_like_any_deploy(hs: Helper) -> None:
    overlapping = edited(DMN, lambda t: t.replace("<text>]30..50]</text>", "<text>[30..50]</text>", 1))
    with hs.db.session() as s:
        s.add(Definition(process_id=lifecycle.LIFECYCLE, version=2, content_hash="y" * 64, files=overlapping, note=""))
    with pytest.raises(DefinitionInvalid):
        with hs.db.session() as s:
            versions.rollback(s, lifecycle.LIFECYCLE, 2, s.merge(hs.user("bangongshi")), "恢复重叠规则")
    with hs.db.session() as s:
        assert definitions.latest(s, lifecycle.LIFECYCLE).version == 2


def test_drafts_merge_edits_refuse_hostile_xml_and_are_consumed_by_deploy(hs: Helper) -> None:
    changed = edited(BPMN, renamed("确认投资意向", "确认意向"))[BPMN]
    with hs.db.session() as s:
        me = s.merge(hs.user("bangongshi"))
        versions.save_draft(s, lifecycle.LIFECYCLE, {BPMN: changed}, me)
    with pytest.raises(DefinitionInvalid) as err:
        with hs.db.session() as s:
            versions.save_draft(s, lifecycle.LIFECYCLE, {DMN: "<!DOCTYPE x [<!ENTITY a 'b'>]><a>&a;</a>", "../evil.bpmn": "<a/>"}, s.merge(hs.user("bangongshi")))
    assert {p["file"] for p in err.value.problems} == {DMN, "../evil.bpmn"}
    with hs.db.session() as s:
        files, draft, latest = versions.working_files(s, lifecycle.LIFECYCLE)
        assert draft is not None and files[BPMN] == changed and files[DMN] == BUNDLE[DMN] and latest.version == 1
        row, created = versions.deploy_working(s, lifecycle.LIFECYCLE, s.merge(hs.user("bangongshi")), note="改名")
        assert created and row.note == "改名"
    with hs.db.session() as s:
        assert versions.draft_of(s, lifecycle.LIFECYCLE) is None
    assert hs.only_ready(hs.register()).name == "确认意向"


def test_uploaded_files_replace_the_file_defining_the_same_process_or_decision() -> None:
    files = dict(BUNDLE)
    assert versions.upload_name(files, "C:\\Users\\me\\diagram_1.bpmn", BUNDLE[BPMN], lifecycle.LIFECYCLE) == BPMN
    assert versions.upload_name(files, "审批层级.dmn", BUNDLE[DMN], lifecycle.LIFECYCLE) == DMN
    other = BUNDLE[BPMN].replace('id="project_lifecycle"', 'id="other_process"')
    assert versions.upload_name(files, "other.bpmn", other, lifecycle.LIFECYCLE) == "other.bpmn"
    for name, text, message in (
        ("notes.txt", "hello", "只能上传 .bpmn 或 .dmn 文件"),
        ("x.bpmn", "<a><b></a>", "XML 格式错误"),
        ("x.dmn", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', "不允许 DOCTYPE"),
    ):
        with pytest.raises(DefinitionInvalid) as err:
            versions.upload_name(files, name, text, lifecycle.LIFECYCLE)
        assert message in err.value.problems[0]["message"]


def test_camunda_modeler_export_deploys(hs: Helper) -> None:
    """A file re-exported by Camunda Modeler (camunda namespace, its own exporter) passes the same checks."""
    exported = BUNDLE[BPMN].replace(
        'exporter="zhikong" exporterVersion="1.0"',
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0"',
    ).replace('<bpmn:userTask id="confirm_intent" name="确认投资意向">', '<bpmn:userTask id="confirm_intent" name="确认投资意向" camunda:asyncBefore="true">')
    with hs.db.session() as s:
        files, _draft, _latest = versions.working_files(s, lifecycle.LIFECYCLE)
        name = versions.upload_name(files, "diagram.bpmn", exported, lifecycle.LIFECYCLE)
        versions.save_draft(s, lifecycle.LIFECYCLE, {name: exported}, s.merge(hs.user("bangongshi")))
        row, created = versions.deploy_working(s, lifecycle.LIFECYCLE, s.merge(hs.user("bangongshi")))
        assert created and "Camunda Modeler" in row.files[BPMN]
    pid = hs.register()
    hs.complete(pid, "anwen", INTENT, "confirm_intent")


def test_a_deploy_parses_the_bundle_once_and_its_first_load_reuses_that_parse(hs: Helper, monkeypatch: pytest.MonkeyPatch) -> None:
    parsers: list[ZhikongParser] = []
    real = parser.new_parser

    def counted() -> ZhikongParser:
        parsers.append(real())
        return parsers[-1]

    monkeypatch.setattr(definitions, "new_parser", counted)
    files = edited(BPMN, lambda text: text.replace("确认投资意向", "确认投资意向（新版）"))
    with hs.db.session() as s:
        row, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert created and len(parsers) == 1
    definitions.forget_parsed()
    with hs.db.session() as s:
        loaded = definitions.load(s, row.id)
    assert len(parsers) == 1 and loaded.definition_id == row.id
    assert loaded.user_tasks["confirm_intent"].name == "确认投资意向（新版）"
