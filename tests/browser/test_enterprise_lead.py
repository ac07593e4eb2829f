"""In Chromium: a department lists a target enterprise, turns it into a lead, the office corrects the record on a phone."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import login, logout, screenshot, submit_and_load
from tests.conftest import Helper


def fits(page: Page) -> bool:
    """Nothing sticks out sideways: the page scrolls vertically only."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_an_enterprise_becomes_a_lead_and_the_office_corrects_its_deputy_on_a_phone(page: Page, bh: Helper) -> None:
    login(page, "jingshang")
    page.goto("/enterprises/new")
    page.fill("#f-name", "浙江测试精密制造有限公司")
    page.select_option("#f-tag_id", label="3 重点产业 · 装备制造")
    page.select_option("#f-list_kind", label="目标招引企业")
    page.fill("#f-planned_investment", "九千")
    page.click("form.register-form button[type=submit]")
    expect(page.locator("#f-planned_investment-error")).to_contain_text("计划投资(万元)必须是0到999999999999.99之间的数字，收到“九千”")
    page.fill("#f-planned_investment", "90000")
    page.click("form.register-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("浙江测试精密制造有限公司")
    page.click("text=转为项目线索")
    expect(page.locator("#f-name")).to_have_value("浙江测试精密制造有限公司")
    page.fill("#f-name", "精密制造生产基地")
    page.select_option("#f-landing_unit_id", label="金磐开发区")
    page.select_option("#f-deputy_id", index=1)
    page.select_option("#f-category", label="工业")
    page.click("form.register-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("精密制造生产基地")
    expect(page.locator("#source-entry")).to_contain_text("浙江测试精密制造有限公司")
    project_url = page.url
    logout(page)

    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bangongshi")
    page.goto("/enterprises")
    assert fits(page), "the enterprise list overflows a phone screen"
    page.goto(project_url)
    submit_and_load(page, "#edit-project")
    assert fits(page), "the correction form overflows a phone screen"
    page.select_option("#f-deputy_id", label="李红梅（分管文旅副县长）")
    page.click("form.register-form button[type=submit]")
    expect(page.locator("#f-reason-error")).to_contain_text("须填写修改原因")
    page.select_option("#f-deputy_id", label="李红梅（分管文旅副县长）")
    page.fill("#f-reason", "分管领导分工调整")
    page.click("form.register-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已保存1项修改")
    expect(page.locator("body")).to_contain_text("分管县领导 王志刚→李红梅")
    screenshot(page, "project-corrected-390")
    project_id = int(project_url.rstrip("/").rsplit("/", 1)[1])
    assert bh.project(project_id).deputy_id == bh.user("fx_wenlv").id
    for path, table in (("/elements/fund", "#fund-totals"), ("/elements/land", "#land-totals")):
        page.goto(path)
        assert fits(page), f"{path} overflows a phone screen"
        cells = page.locator(f"{table} tbody td")
        assert cells.count() > 0 and page.locator(f"{table} tbody td:not([data-label])").count() == 0, path
