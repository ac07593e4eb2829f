"""委托 in real Chromium: a deputy delegates a task from its page, the colleague finds it in the inbox marked as
delegated and completes it, and the project's history names both; a leave period from 我的委托 and taking it back."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from engine.platform.clock import local_today
from tests.browser.conftest import login, logout, screenshot, submit_and_load
from tests.conftest import INTENT, Helper


def test_delegate_a_task_and_complete_it_as_the_delegate(page: Page, bh: Helper) -> None:
    project_id = bh.register(name="高山冷链物流产业园")
    bh.complete(project_id, "anwen", INTENT, "confirm_intent")
    task = bh.only_ready(project_id)
    login(page, "fx_gongye")
    page.goto(f"/tasks/{task.id}")
    form = page.locator("#delegate-form")
    form.locator("select[name=delegate_id]").select_option(label="李红梅（分管文旅副县长）")
    form.locator("input[name=reason]").fill("外出招商")
    submit_and_load(page, "#delegate-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已委托李红梅办理")
    expect(page.locator("#handover")).to_contain_text("王志刚已委托李红梅办理此事项。")
    screenshot(page, "handover-delegated")
    logout(page)

    login(page, "fx_wenlv")
    row = page.locator(f"tr[data-task='{task.id}']")
    expect(row.locator(".tag.delegated")).to_have_text("受王志刚委托")
    row.locator("a.task-link").click()
    page.wait_for_load_state("load")
    expect(page.locator("#handover")).to_contain_text("您受王志刚委托办理此事项。")
    page.check("input[name=decision][value=pass]")
    page.fill("textarea[name=opinion]", "可行性论证通过")
    submit_and_load(page, ".task-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已办理")
    expect(page.locator(f"tr[data-task='{task.id}']")).to_have_count(0)
    page.goto(f"/projects/{project_id}")
    expect(page.locator("#timeline")).to_contain_text("受王志刚委托")
    screenshot(page, "handover-history")


def test_a_leave_period_and_taking_it_back(page: Page, bh: Helper) -> None:
    project_id = bh.register(name="中药材初加工中心")
    bh.complete(project_id, "anwen", INTENT, "confirm_intent")
    task = bh.only_ready(project_id)
    login(page, "fx_gongye")
    page.goto("/delegations")
    page.select_option("#delegate_id", label="赵永强（分管农业副县长）")
    page.fill("#first", str(local_today()))
    page.fill("#last", str(local_today() + timedelta(days=4)))
    page.fill("#reason", "年休假")
    submit_and_load(page, "#period-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("期满自动交还")
    expect(page.locator("#given")).to_contain_text("生效中")
    screenshot(page, "handover-leave")
    logout(page)
    login(page, "fx_nongye")
    expect(page.locator(f"tr[data-task='{task.id}'] .tag.delegated")).to_have_text("受王志刚委托")
    logout(page)
    login(page, "fx_gongye")
    page.goto("/delegations")
    submit_and_load(page, "#given button[type=submit]")
    expect(page.locator("#given")).to_contain_text("已收回")
    logout(page)
    login(page, "fx_nongye")
    expect(page.locator(f"tr[data-task='{task.id}']")).to_have_count(0)
