"""The administrator in real Chromium: find a stuck project, see why, fix its data, retry; catch an orphaned task, reassign it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engine.projects import lifecycle
from engine.workflow import definitions
from tests.admin.bundles import with_division_script
from tests.browser.conftest import login, logout, screenshot
from tests.conftest import Helper

pytestmark = pytest.mark.browser



def _diagram_ready(page: Page) -> None:
    expect(page.locator("#admin-diagram")).to_have_attribute("data-rendered", "true")


def test_admin_fixes_a_script_error_and_reassigns_an_orphaned_task(page: Page, bh: Helper) -> None:
    with bh.db.session() as s:
        definitions.deploy(s, with_division_script(), lifecycle.LIFECYCLE)
    bh.register(by="anwen", name="亩均测算项目")

    login(page, "admin")
    page.click("nav.nav >> text=运维管理")
    stuck = page.locator("#stuck tr[data-kind=error]")
    expect(stuck).to_have_count(1)
    expect(stuck).to_contain_text("亩均测算项目")
    expect(stuck).to_contain_text("“计算亩均投资”（calc_density）执行出错：ZeroDivisionError")
    expect(stuck).to_contain_text("第 2 行：investment_per_mu = base / land_mu")
    expect(page.locator('.status-counts a[data-status="error"] b')).to_have_text("1")
    screenshot(page, "admin-console-stuck")

    stuck.locator("a").first.click()
    _diagram_ready(page)
    expect(page.locator('#admin-diagram [data-element-id="calc_density"].zk-token-errored')).to_have_count(1)
    expect(page.locator('#admin-diagram [data-element-id="start"].zk-token-completed')).to_have_count(1)
    expect(page.locator("#error-box")).to_contain_text("ZeroDivisionError")
    screenshot(page, "admin-instance-error")

    data = page.locator("#retry-data")
    fixed = re.sub(r'"land_mu": 0\.0', '"land_mu": 20', data.input_value())
    assert fixed != data.input_value()
    data.fill(fixed)
    page.click("#retry-form button[type=submit]")
    expect(page.locator("#retry-form .field-error")).to_contain_text("操作原因为必填项")
    expect(page.locator("#retry-data")).to_have_value(fixed)
    page.fill("#reason-retry", "登记时漏填用地面积，按投资方材料补正为20亩")
    page.click("#retry-form button[type=submit]")
    expect(page.locator(".flash.success")).to_have_text("已修改数据并重试")
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "running")
    _diagram_ready(page)
    expect(page.locator('#admin-diagram [data-element-id="confirm_intent"].zk-token-active')).to_have_count(1)
    expect(page.locator('#admin-diagram [data-element-id="calc_density"].zk-token-completed')).to_have_count(1)
    expect(page.locator("#events tr[data-kind=admin_retry]")).to_contain_text("系统管理员修改任务数据并重试“计算亩均投资”。原因：登记时漏填用地面积")
    expect(page.locator("#task-data")).to_contain_text('"investment_per_mu": 2500.0')
    screenshot(page, "admin-instance-retried")
    logout(page)

    login(page, "anwen")
    expect(page.locator("text=亩均测算项目")).to_be_visible()
    logout(page)

    login(page, "admin")
    page.goto("/admin/users")
    row = page.locator("tr[data-user=anwen]")
    row.locator("form.user-active input[name=reason]").fill("钱芳调离安文街道招商办")
    row.locator("form.user-active button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("钱芳")
    page.goto("/admin/")
    orphan = page.locator("#stuck tr[data-kind=orphaned]")
    expect(orphan).to_have_count(1)
    expect(orphan).to_contain_text("“确认投资意向”无人可办")
    expect(orphan).to_contain_text("安文街道没有在岗且持有“落地单位”角色的人员")
    screenshot(page, "admin-console-orphaned")

    orphan.locator("a").first.click()
    expect(page.locator(".orphan-note")).to_contain_text("安文街道没有在岗且持有“落地单位”角色的人员")
    task_row = page.locator("#tasks tr.task-ready")
    form = task_row.locator("form.reassign")
    value = form.locator("select[name=user_id] option", has_text="黄磊（新渥街道").get_attribute("value")
    form.locator("select[name=user_id]").select_option(value=value)
    form.locator("textarea[name=reason]").fill("安文街道暂无招商人员，由新渥街道黄磊代办")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash.success")).to_have_text("任务已改派")
    expect(page.locator(".orphan-note")).to_have_count(0)
    expect(page.locator("#events tr[data-kind=admin_reassign]")).to_contain_text("改派给黄磊")
    expect(page.locator("#events tr[data-kind=orphan_resolved]")).to_have_count(1)
    screenshot(page, "admin-instance-reassigned")
    page.goto("/admin/")
    expect(page.locator("#stuck tr[data-kind=orphaned]")).to_have_count(0)
    logout(page)

    login(page, "xinwo")
    expect(page.locator("text=亩均测算项目")).to_be_visible()
    screenshot(page, "inbox-xinwo-reassigned")


def test_heat_view_draws_counts_on_the_diagram(page: Page, bh: Helper) -> None:
    bh.register(by="anwen", name="热力一")
    bh.register(by="xinwo", name="热力二")
    login(page, "admin")
    page.goto("/admin/definitions/1/heat")
    _diagram_ready(page)
    badge = page.locator(".zk-heat-badge")
    expect(badge).to_have_count(1)
    expect(badge).to_have_text("2")
    expect(page.locator('#admin-diagram [data-element-id="confirm_intent"].zk-heat-4')).to_have_count(1)
    screenshot(page, "admin-heat")
