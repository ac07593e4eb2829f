"""The Content-Security-Policy in real Chromium: the modeler, viewer and dashboard run under it, page behaviour that left inline
handlers still works, and an injected inline handler is refused."""
from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.models import Instance
from tests.browser.conftest import LiveServer, csp_refusals, login
from tests.conftest import BPMN_DIR, Helper


def test_modeler_and_decision_table_render_under_the_policy(page: Page) -> None:
    login(page, "bangongshi")
    page.goto("/definitions/project_lifecycle/modeler")
    page.wait_for_selector("#zk-modeler[data-ready='1']", timeout=30000)
    expect(page.locator('.djs-element[data-element-id="confirm_intent"]')).to_be_visible()
    assert page.locator(".djs-palette .entry").count() > 5
    faces = page.evaluate("document.fonts.ready.then(() => Array.from(document.fonts).filter(f => f.family.includes('bpmn')).map(f => f.status))")
    assert "loaded" in faces, faces  # the palette's icon font (a data: URL) loaded
    page.click('.djs-element[data-element-id="confirm_intent"]')
    expect(page.locator("#bio-properties-panel-name")).to_have_value("确认投资意向")
    page.click(".zk-tab[data-file='approval_tier.dmn']")
    expect(page.locator(".tjs-table").first).to_be_visible()


def test_viewer_admin_and_dashboard_pages_run_under_the_policy(page: Page, bh: Helper) -> None:
    project_id = bh.register(name="策略检查项目")
    task = bh.only_ready(project_id)
    login(page, "anwen")
    page.goto(f"/tasks/{task.id}")
    page.wait_for_selector(".djs-element")
    page.click("form.logout button[type=submit]")
    login(page, "admin")
    with bh.db.session() as s:
        instance_id = s.query(Instance.id).filter(Instance.project_id == project_id).scalar()
    page.goto(f"/admin/instances/{instance_id}")
    expect(page.locator("#admin-diagram")).to_have_attribute("data-rendered", "true")
    page.click("form.logout button[type=submit]")
    login(page, "xianzhang")
    page.goto("/dashboard")
    page.wait_for_selector("#chart-trend canvas")


def test_print_and_confirm_buttons_work_without_inline_handlers(page: Page, bh: Helper) -> None:
    files = definitions.read_bundle(BPMN_DIR)
    files["project_lifecycle.bpmn"] = files["project_lifecycle.bpmn"].replace('name="确认投资意向"', 'name="确认投资意向（二）"', 1)
    with bh.db.session() as s:
        definitions.deploy(s, files, lifecycle.LIFECYCLE)
    login(page, "bangongshi")
    page.goto("/definitions")
    page.fill("tr[data-version='1'] form input[name=reason]", "恢复原来的步骤名称")
    rollback = page.locator("tr[data-version='1'] form button[type=submit]")
    page.once("dialog", lambda dialog: dialog.dismiss())
    rollback.click()
    page.wait_for_load_state("networkidle")
    with bh.db.session() as s:
        assert definitions.latest(s, lifecycle.LIFECYCLE).version == 2  # dismissed: nothing deployed
    page.once("dialog", lambda dialog: dialog.accept())
    rollback.click()
    page.wait_for_load_state("networkidle")
    with bh.db.session() as s:
        assert definitions.latest(s, lifecycle.LIFECYCLE).version == 3

    project_id = bh.register(name="打印审批表项目")
    page.click("form.logout button[type=submit]")
    login(page, "anwen")
    page.goto(f"/projects/{project_id}/approval-form")
    page.evaluate("window.print = function () { window.zkPrinted = true; }")
    page.click("button[data-print]")
    assert page.evaluate("window.zkPrinted === true")


def test_filter_panels_fold_on_a_phone(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        phone = context.new_page()
        refused = csp_refusals(phone)
        login(phone, "anwen")
        phone.goto("/")
        assert phone.evaluate("document.querySelector('details[data-mobile-collapse]').open") is False
        assert refused == []
    finally:
        context.close()


def test_an_injected_inline_handler_is_refused(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    try:
        page = context.new_page()
        refused = csp_refusals(page)
        page.goto("/login")
        page.evaluate("""document.body.insertAdjacentHTML('beforeend', '<img src="/nowhere" onerror="window.zkRan = true">')""")
        page.wait_for_timeout(500)
        assert page.evaluate("window.zkRan === undefined")
        assert refused and "inline event handler" in refused[0]
    finally:
        context.close()
