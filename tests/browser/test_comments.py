"""In Chromium: a town official writes 会商意见 mentioning the deputy, a mistyped mention is refused with the text kept,
the deputy opens the notification and lands on the comment; markup in a comment stays text; another town gets 403."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import login, logout, screenshot, submit_and_load
from tests.conftest import Helper


def test_a_comment_mentions_the_deputy_who_opens_it_from_the_notification(page: Page, bh: Helper) -> None:
    project_id = bh.register(name="中药材精深加工产业园")
    login(page, "anwen")
    page.goto(f"/projects/{project_id}")
    expect(page.locator("#comments")).to_contain_text("暂无会商意见")
    page.fill("#comment-body", "@王志钢 请协调林地指标")
    submit_and_load(page, ".comment-form button[type=submit]")
    expect(page.locator("#comment-body-error")).to_contain_text("会商意见中的“@王志钢”找不到对应的人员")
    expect(page.locator("#comment-body")).to_have_value("@王志钢 请协调林地指标")
    page.fill("#comment-body", "@王志刚 请协调林地指标，<b>本周内</b>答复")
    submit_and_load(page, ".comment-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已发表会商意见")
    body = page.locator("#comments .comment-body")
    expect(body).to_have_text("@王志刚 请协调林地指标，<b>本周内</b>答复")  # the markup shows as typed, never as markup
    expect(page.locator("#comments .comment-body b")).to_have_count(0)
    expect(page.locator("#comments .mention")).to_have_text("@王志刚")
    screenshot(page, "project-comments")
    logout(page)

    login(page, "fx_gongye")
    expect(page.locator("#bell")).to_be_visible()
    page.goto("/notifications")
    submit_and_load(page, "button.link:has-text('钱芳在“中药材精深加工产业园”的会商意见中提到了您')")
    assert page.url.endswith(f"/projects/{project_id}#comment-1")
    expect(page.locator("#comment-1")).to_contain_text("请协调林地指标")
    page.fill("#comment-body", "已安排自然资源和规划局对接")
    submit_and_load(page, ".comment-form button[type=submit]")
    expect(page.locator("#comments .comment")).to_have_count(2)
    logout(page)

    login(page, "xinwo")
    answer = page.goto(f"/projects/{project_id}")
    assert answer is not None and answer.status == 403
