"""Process owners in real Chromium: redraw the lifecycle in bpmn-js, edit the tier table in dmn-js,
preview the impact, deploy, migrate an older project; hostile uploads are refused."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect, Locator
from sqlalchemy import func, select

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.models import Definition, Event, Instance
from tests.browser.conftest import login, logout, screenshot
from tests.conftest import Helper, approval_form, drive_to_tier

NEW_NAME = "确认投资意向（首次洽谈）"


def open_modeler(page: Page) -> None:
    page.goto("/definitions/project_lifecycle/modeler")
    page.wait_for_selector("#zk-modeler[data-ready='1']", timeout=30000)


def property_field(page: Page, field_id: str) -> Locator:
    """The properties-panel input, opening its group first when it is collapsed."""
    field = page.locator(f"#bio-properties-panel-{field_id}")
    if not field.is_visible():
        page.locator(".bio-properties-panel-group-header", has_text="招引智控").click()
    expect(field).to_be_visible()
    return field


def inbox_rows(page: Page) -> dict[str, str]:
    """Project name → task name of every row in the plain inbox at "/"."""
    page.goto("/")
    rows = {}
    for row in page.locator("table.list tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        rows[cells[0].strip()] = cells[1].strip()
    return rows


def test_rename_task_deploy_and_migrate_the_older_project(page: Page, bh: Helper) -> None:
    old_pid = bh.register(name="老版本项目")
    login(page, "bangongshi")
    open_modeler(page)
    page.click('.djs-element[data-element-id="confirm_intent"]')
    page.fill("#bio-properties-panel-name", NEW_NAME)
    property_field(page, "zk-dueIn").fill("P20D")
    page.locator("#bio-properties-panel-zk-dueIn").press("Tab")
    page.wait_for_timeout(400)  # the panel debounces input before it updates the diagram
    page.click("#zk-deploy")
    expect(page.locator("#zk-status")).to_contain_text("已部署第2版")
    screenshot(page, "modeler-deployed")

    with bh.db.session() as s:
        latest = definitions.latest(s, lifecycle.LIFECYCLE)
        assert latest.version == 2
        assert NEW_NAME in latest.files["project_lifecycle.bpmn"]
        assert 'name="dueIn" value="P20D"' in latest.files["project_lifecycle.bpmn"]
        deploy = s.scalars(select(Event).where(Event.kind == "deploy").order_by(Event.id.desc())).first()
        assert deploy.actor_id == bh.user("bangongshi").id and deploy.payload["version"] == 2
    new_pid = bh.register(name="新版本项目")
    logout(page)

    login(page, "anwen")
    rows = inbox_rows(page)
    assert rows["新版本项目"] == NEW_NAME
    assert rows["老版本项目"] == "确认投资意向"
    logout(page)

    login(page, "bangongshi")
    page.goto("/definitions/project_lifecycle/migrate")
    row = page.locator("tr", has_text="老版本项目")
    expect(row).to_contain_text("可以迁移")
    row.locator("input[name=instance_id]").check()
    page.click("button[name=selected]")
    expect(page.locator("tr", has_text="老版本项目")).to_contain_text("已迁移")
    expect(page.locator("tr", has_text="老版本项目")).to_contain_text("第1版 → 第2版")
    logout(page)

    login(page, "anwen")
    assert inbox_rows(page)["老版本项目"] == NEW_NAME
    old_task = bh.only_ready(old_pid)
    assert old_task.due_at - old_task.created_at == timedelta(days=20)
    with bh.db.session() as s:
        versions = {i.project_id: s.get_one(Definition, i.definition_id).version for i in s.scalars(select(Instance))}
    assert versions == {old_pid: 2, new_pid: 2}


def edit_cell(page: Page, cell_id: str, text: str) -> None:
    """Type into a decision-table cell the way a person does: click, select all, type, leave."""
    cell = page.locator(f'td[data-element-id="{cell_id}"]')
    cell.locator(".content-editable").click()
    editor = cell.locator(".cm-content")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.locator("h1").click()
    expect(cell).to_contain_text(text)


def test_tier_threshold_edited_in_dmn_js_previews_affected_projects_and_deploys(page: Page, bh: Helper) -> None:
    affected = bh.register(name="康养22亩", category="health", needs_land=True, land_mu=22)
    bh.register(name="工业22亩", category="industrial", needs_land=True, land_mu=22)
    bh.register(name="文旅30亩", category="tourism", needs_land=True, land_mu=30)
    login(page, "bangongshi")
    open_modeler(page)
    page.click(".zk-tab[data-file='approval_tier.dmn']")
    for cell, text in (("rule_3_in_5", "<= 25"), ("rule_9_in_5", "<= 25"), ("rule_5_in_5", "]25..50]"), ("rule_11_in_5", "> 25")):
        edit_cell(page, cell, text)

    page.click("#zk-preview")
    impact = page.locator("#zk-impact table")
    expect(impact).to_contain_text("康养22亩")
    expect(impact).to_contain_text("T2 → T1")
    assert impact.locator("tbody tr").count() == 1
    expect(page.locator("#zk-status")).to_contain_text("1 个决策用例与新规则不符")
    screenshot(page, "modeler-impact")

    page.click("#zk-deploy")
    problems = page.locator("#zk-problems")
    expect(problems).to_contain_text("用例3")
    expect(problems).to_contain_text('期望 tier="T2"，实际 tier="T1"')
    expect(page.locator(".zk-tab[data-file='approval_tier.cases.json']")).to_have_class(re.compile(r"\bhas-error\b"))
    screenshot(page, "modeler-case-failed")
    with bh.db.session() as s:
        assert definitions.latest(s, lifecycle.LIFECYCLE).version == 1

    page.click(".zk-tab[data-file='approval_tier.cases.json']")
    page.locator("tr[data-case='3'] input[data-group='expected'][data-key='tier']").fill("T1")
    page.click("#zk-deploy")
    expect(page.locator("#zk-status")).to_contain_text("已部署第2版")
    with bh.db.session() as s:
        latest = definitions.latest(s, lifecycle.LIFECYCLE)
        assert "&lt;= 25" in latest.files["approval_tier.dmn"] or "<= 25" in latest.files["approval_tier.dmn"]
        assert json.loads(latest.files["approval_tier.cases.json"])["cases"][2]["expected"] == {"tier": "T1"}
    fresh = bh.register(name="康养22亩（新）", category="health", needs_land=True, land_mu=22)
    drive_to_tier(bh, fresh, "anwen", approval_form(True, 22))
    assert bh.project(fresh).tier == "T1"  # new projects are decided by the new table
    assert bh.project(affected).tier == ""  # running ones keep their version until migrated


def test_billion_laughs_upload_is_refused_and_changes_nothing(page: Page, bh: Helper, tmp_path: Path) -> None:
    bomb = tmp_path / "project_lifecycle.bpmn"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<definitions>&lol2;</definitions>",
        encoding="utf-8",
    )
    login(page, "bangongshi")
    open_modeler(page)
    page.set_input_files("form.upload input[type=file]", str(bomb))
    page.click("form.upload button[type=submit]")
    expect(page.locator("ul.problems")).to_contain_text("不允许 DOCTYPE 或实体声明")
    open_modeler(page)
    expect(page.locator("#zk-draft")).to_have_text("无草稿")
    with bh.db.session() as s:
        assert s.scalars(select(func.count()).select_from(Definition)).one() == 1


def test_hostile_condition_typed_in_the_panel_is_listed_and_highlighted_and_not_deployed(page: Page, bh: Helper) -> None:
    login(page, "bangongshi")
    open_modeler(page)
    page.click('.djs-element[data-element-id="f_intent_yes_label"]')
    condition = property_field(page, "zk-condition")
    expect(condition).to_have_value("has_intent == True")
    condition.fill("__import__('os').system('id')")
    condition.press("Tab")
    page.wait_for_timeout(400)
    page.click("#zk-deploy")
    expect(page.locator("#zk-status")).to_contain_text("部署未通过")
    problem = page.locator("#zk-problems li[data-element='f_intent_yes']")
    expect(problem).to_contain_text("不允许使用 __import__")
    expect(page.locator('.djs-element[data-element-id="f_intent_yes"]')).to_have_class(re.compile(r"\bzk-error\b"))
    expect(page.locator(".zk-tab[data-file='project_lifecycle.bpmn']")).to_have_class(re.compile(r"\bhas-error\b"))
    screenshot(page, "modeler-hostile-condition")
    with bh.db.session() as s:
        assert s.scalars(select(func.count()).select_from(Definition)).one() == 1


def test_lane_chosen_in_the_panel_decides_who_gets_the_task(page: Page, bh: Helper) -> None:
    login(page, "bangongshi")
    open_modeler(page)
    page.click('.djs-element[data-element-id="confirm_intent"]')
    lane = property_field(page, "zk-lane")
    expect(lane.locator("option:checked")).to_have_text("落地单位 → 落地单位（项目落地单位）")
    lane.select_option(label="领导小组办公室 → 领导小组办公室（全县）")
    page.click("#zk-deploy")
    expect(page.locator("#zk-status")).to_contain_text("已部署第2版")
    task = bh.only_ready(bh.register(name="办公室先接洽"))
    assert (task.bpmn_id, task.lane, task.role, task.scope) == ("confirm_intent", "领导小组办公室", "office", "county")
