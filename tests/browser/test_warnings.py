"""In Chromium: the warning board updates itself without a reload; the bell shows unread notifications."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.supervision import lights
from engine.platform import warning_settings
from engine.platform.models import Task, utcnow
from tests.browser.conftest import login, screenshot
from tests.conftest import Helper

pytestmark = pytest.mark.browser


def age_tasks(h: Helper, project_id: int, days: int) -> None:
    with h.db.session() as s:
        for task in s.scalars(select(Task).where(Task.project_id == project_id, Task.status == "ready")):
            assert task.due_at is not None
            task.created_at -= timedelta(days=days)
            task.due_at -= timedelta(days=days)


def test_the_board_turns_a_project_red_without_a_reload(page: Page, bh: Helper) -> None:
    with bh.db.session() as s:
        warning_settings.update(s, {"board_refresh_seconds": 1}, s.merge(bh.user("bangongshi")))
    late = bh.register(name="年产10万吨新材料项目")
    bh.register(name="康养综合体项目", by="xinwo")
    login(page, "bangongshi")
    page.goto("/warnings")
    expect(page.locator("#total-red b")).to_have_text("0")
    expect(page.locator("#total-green b")).to_have_text("2")
    page.evaluate("window.__sameDocument = true")
    age_tasks(bh, late, 61)  # two months pass for this project's intent task
    expect(page.locator("#total-red b")).to_have_text("1", timeout=10000)
    expect(page.locator("#red-list")).to_contain_text("年产10万吨新材料项目")
    expect(page.locator("#red-list")).to_contain_text("确认投资意向")
    assert page.evaluate("window.__sameDocument") is True  # the page was not reloaded
    screenshot(page, "warnings-board")
    page.locator("#by-unit a", has_text="1").first.click()
    expect(page).to_have_url(f"{page.url.split('/projects')[0]}/projects?unit={bh.unit('anwen')}&light=red")
    expect(page.locator("body")).to_contain_text("年产10万吨新材料项目")


def test_the_bell_shows_unread_warnings_and_the_list_marks_them_read(page: Page, bh: Helper) -> None:
    late = bh.register(name="逾期提醒项目")
    age_tasks(bh, late, 31)
    with bh.db.session() as s:
        lights.scan(s, utcnow())
    login(page, "anwen")
    expect(page.locator("#bell-count")).to_have_text("1")
    page.click("#bell")
    expect(page.locator("#notifications")).to_contain_text("【黄灯】逾期提醒项目")
    screenshot(page, "notifications")
    page.click("#notifications button.link")
    expect(page.locator("h1")).to_contain_text("确认投资意向")
    expect(page.locator("#bell-count")).to_be_hidden()


def test_a_town_official_posts_progress_and_sees_it_listed(page: Page, bh: Helper) -> None:
    pid = bh.register(name="进展填报项目")
    login(page, "anwen")
    page.goto(f"/projects/{pid}/progress")
    page.click("#progress-form button[type=submit]")
    expect(page.locator(".field-error")).to_contain_text("进展情况不能为空")
    page.fill("#content", "已与投资方签订框架协议")
    page.click("#progress-form button[type=submit]")
    expect(page.locator("#notes")).to_contain_text("已与投资方签订框架协议")
    screenshot(page, "progress")
