"""Sign-in and the task list in real Chromium."""
from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import login, logout, screenshot
from tests.conftest import Helper


def test_official_signs_in_sees_task_and_signs_out(page: Page, bh: Helper) -> None:
    bh.register(by="anwen", name="浏览器测试项目")
    page.goto("/")
    assert "/login" in page.url
    login(page, "anwen", "wrong-password")
    assert page.locator(".flash.error").inner_text() == "用户名或密码错误"
    login(page, "anwen")
    assert page.locator("text=浏览器测试项目").is_visible()
    screenshot(page, "inbox-anwen")
    logout(page)
    assert "/login" in page.url
