"""委托 and 认领 in real Chromium: a deputy delegates a task from its page, the colleague finds it in the inbox marked as
delegated and completes it, and the project's history names both; a leave period from 我的委托 and taking it back;
a town official claims a group task, a colleague sees who is on it and cannot submit it, and the claim is released."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from engine.platform.clock import local_today
from tests.browser.conftest import login, logout, screenshot, submit_and_load
from tests.conftest import INTENT, Helper
from tests.handover.test_claim import second_official


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


def test_claim_and_release_a_group_task(page: Page, bh: Helper) -> None:
    second_official(bh)
    task = bh.only_ready(bh.register(name="安文数字文创园"))
    login(page, "anwen")
    page.goto(f"/tasks/{task.id}")
    submit_and_load(page, "#claim-form button[type=submit]")
    expect(page.locator("#claim")).to_contain_text("您已认领此事项")
    logout(page)
    login(page, "anwen2")
    expect(page.locator(f"tr[data-task='{task.id}'] .tag.claimed")).to_have_text("钱芳已认领")
    page.locator(f"tr[data-task='{task.id}'] a.task-link").click()
    page.wait_for_load_state("load")
    expect(page.locator("#held")).to_contain_text("钱芳已认领此事项")
    expect(page.locator(".task-form")).to_have_count(0)
    screenshot(page, "handover-claimed")
    logout(page)
    login(page, "anwen")
    page.goto(f"/tasks/{task.id}")
    submit_and_load(page, "#release-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已释放认领")
    logout(page)
    login(page, "anwen2")
    expect(page.locator(f"tr[data-task='{task.id}'] .tag.claimed")).to_have_count(0)
    page.goto(f"/tasks/{task.id}")
    expect(page.locator(".task-form")).to_be_visible()
