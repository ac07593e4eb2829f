"""A T2 project from lead to approval through the officials' pages in real Chromium, walked on a phone, every page also seen on a desktop.

A town official registers a lead and moves it through intent and the approval form; the
deputy, the office and the meeting secretaries act in turn; the county head approves. On
the way: the diagram highlights the current task, another town gets 403 on the task URL,
bad values show their message and save nothing. Every page is checked to fit, and saved as a
screenshot, at both sizes.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, ViewportSize
from sqlalchemy import func, select

from engine.platform.models import Project
from tests import documents
from tests.browser.conftest import LiveServer, keep_printed, login, logout, screenshot, submit_and_load
from tests.conftest import Helper

VIEWPORTS: dict[str, ViewportSize] = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
WALKED = "phone"  # the walk's clicks and typing happen at this size


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page at phone size (390×844) on the live server."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[WALKED], locale="zh-CN")
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


class Walk:
    """Signs officials in and out, saves screenshots and checks the page fits each screen."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.user = ""

    def as_(self, username: str) -> Page:
        if self.user:
            logout(self.page)
        login(self.page, username)
        expect(self.page.locator(".who")).to_be_visible()
        self.user = username
        return self.page

    def shot(self, name: str) -> None:
        """Once every diagram on the page is drawn: at each screen size, check the page fits and save it."""
        expect(self.page.locator(".diagram[data-url]:not([data-rendered])")).to_have_count(0)
        for device, size in [*((d, v) for d, v in VIEWPORTS.items() if d != WALKED), (WALKED, VIEWPORTS[WALKED])]:
            self.page.set_viewport_size(size)
            fits = self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert fits, f"{name}: the page is wider than the {device} screen"
            screenshot(self.page, f"{name}-{device}")

    def open_task(self, name: str) -> str:
        """Open a task from the inbox by its name; returns its URL."""
        self.page.goto("/")
        self.page.locator("a.task-link", has_text=name).first.click()
        self.page.wait_for_load_state("load")
        expect(self.page.locator("h1")).to_have_text(name)
        return self.page.url

    def submit_task(self) -> None:
        submit_and_load(self.page, "form.task-form button[type=submit]")
        expect(self.page.locator(".flash.success")).to_contain_text("已办理")

    def decide(self, **choices: str) -> None:
        for field, value in choices.items():
            if field == "opinion":
                self.page.fill("textarea[name=opinion]", value)
            else:
                self.page.check(f"input[name={field}][value={value}]")
        self.submit_task()

    def hold_meeting(self, convener: str, secretary: str, kind: str, project_id: int, decision: str, opinion: str) -> None:
        """The convener opens a sitting of `kind`; the secretary records the project's decision; minutes follow."""
        page = self.as_(convener)
        page.goto("/meetings")
        page.click(f"section.meeting-kind[data-kind={kind}] a.button.primary")
        page.fill("input[name=held_on]", "2026-11-20")
        page.fill("textarea[name=attendees]", "县委副书记、分管副县长、县发改局、县经商局、县自然资源和规划局")
        page.fill("input[name=location]", "县行政中心三楼会议室")
        self.shot(f"meeting-open-{kind}")
        submit_and_load(page, "main button[type=submit]")
        expect(page.locator(".flash.success")).to_contain_text("会议已召开")
        meeting_url = page.url
        if convener != secretary:
            expect(page.locator(f"section.agenda-item[data-project='{project_id}']")).to_contain_text("待会议秘书记录结果")
            page = self.as_(secretary)
            page.goto(meeting_url)
        item = page.locator(f"section.agenda-item[data-project='{project_id}']")
        item.locator(f"input[type=radio][value={decision}]").check()
        item.locator("textarea").fill(opinion)
        self.shot(f"meeting-{kind}")
        submit_and_load(page, "form.meeting-form button[type=submit]")
        expect(page.locator("#minutes")).to_contain_text(opinion)
        self.shot(f"minutes-{kind}")


def _projects(bh: Helper) -> int:
    with bh.db.session() as s:
        return s.scalars(select(func.count(Project.id))).one() or 0


def test_t2_project_from_lead_to_approval(phone: Page, bh: Helper) -> None:
    page = phone
    walk = Walk(page)

    # A town official registers a lead; a bad amount is refused with its message and nothing is stored.
    walk.as_("anwen")
    page.goto("/projects")
    page.click("a.button.primary")
    page.fill("input[name=name]", "高山冷链物流产业园")
    page.fill("input[name=investor]", "浙江鲜达冷链有限公司")
    page.select_option("select[name=category]", "industrial")
    page.select_option("select[name=deputy_id]", label="王志刚（分管工业副县长）")
    page.fill("input[name=total_investment]", "三亿二千万")
    page.check("input[name=needs_land]")
    page.fill("input[name=land_mu]", "40")
    page.click("form.register-form button[type=submit]")
    expect(page.locator("#f-total_investment-error")).to_have_text("总投资必须是0到999999999999.99之间的数字（万元），收到“三亿二千万”")
    expect(page.locator("input[name=name]")).to_have_value("高山冷链物流产业园")
    assert _projects(bh) == 0
    walk.shot("register-error")
    page.fill("input[name=total_investment]", "32000")
    submit_and_load(page, "form.register-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("高山冷链物流产业园")
    project_id = int(re.search(r"/projects/(\d+)$", page.url).group(1))
    expect(page.locator("#current-tasks")).to_contain_text("钱芳（安文街道招商办）")
    walk.shot("project-registered")

    # Intent: from the inbox (badge 1) to the task page with its diagram.
    page.goto("/")
    expect(page.locator("#inbox-badge")).to_have_text("1")
    walk.shot("inbox")
    walk.open_task("确认投资意向")
    walk.decide(has_intent="true", opinion="投资方已实地考察，投资意向明确")

    walk.as_("fx_gongye")
    walk.open_task("可行性论证")
    walk.decide(decision="pass", opinion="符合县产业发展导向，论证通过")

    # The approval form: another town is refused; a bad area is refused with its message and the input stays.
    form_url = f"/tasks/{bh.only_ready(project_id).id}"
    walk.as_("xinwo")
    response = page.goto(form_url)
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")
    walk.shot("forbidden-other-town")
    walk.as_("anwen")
    walk.open_task("填写落地审批表")
    page.check("input[name=needs_land][value=true]")
    page.fill("input[name=land_mu]", "四十")
    page.check("input[name=one_case_support][value=false]")
    page.fill("textarea[name=summary]", "建设冷链仓储及分拣中心，年周转能力20万吨")
    page.click("form.task-form button[type=submit]")
    expect(page.locator("#f-land_mu-error")).to_have_text("用地面积必须是0到99999999.99之间的数字（亩），收到“四十”")
    expect(page.locator("input[name=land_mu]")).to_have_value("四十")
    expect(page.locator("textarea[name=summary]")).to_have_value("建设冷链仓储及分拣中心，年周转能力20万吨")
    assert f"/tasks/{bh.only_ready(project_id).id}" == form_url
    walk.shot("approval-form-error")
    page.fill("input[name=land_mu]", "40")
    walk.decide(opinion="请领导小组办公室提交研判")

    # The office convenes the assessment meeting, its secretary records the decision; the leading group follows.
    walk.hold_meeting("bangongshi", "yanpan", "assessment", project_id, "pass", "研判通过，提交领导小组审议")
    walk.hold_meeting("lingdao", "lingdao", "leading_group", project_id, "pass", "同意引进，组建项目招引专班")

    walk.as_("anwen")
    walk.open_task("盯引洽谈与落地考察")
    walk.decide(decision="continue", opinion="已完成洽谈并组织落地考察")
    walk.open_task("签写考察联审意见")
    walk.decide(decision="pass", opinion="专班各成员单位同意落地")

    walk.as_("fx_gongye")
    walk.open_task("分管副县长审核")
    walk.decide(decision="approve", opinion="同意提交县长办公会议审议")
    walk.hold_meeting("xzbgh", "xzbgh", "county_head_meeting", project_id, "approve", "会议同意该项目落地")

    # The county head sees the diagram with his task highlighted and the path behind it, and approves.
    walk.as_("xianzhang")
    walk.open_task("县长审批")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    expect(page.locator(".djs-element.zk-current[data-element-id=t2_head_approval]")).to_be_visible()
    expect(page.locator(".djs-element.zk-done[data-element-id=t2_head_meeting]")).to_be_attached()
    expect(page.locator(".djs-connection.zk-done[data-element-id=f_tier_T2]")).to_be_attached()
    assert page.locator(".djs-element.zk-current").count() == 1
    page.click("button[data-zoom=in]")
    walk.shot("task-with-diagram")
    walk.decide(decision="approve", opinion="同意")

    # The project is approved: stage 签约, signing is current, the printable form holds every opinion.
    project = bh.project(project_id)
    assert (project.tier, project.stage, project.approved_at is not None) == ("T2", "signing", True)
    walk.as_("bangongshi")
    page.goto(f"/projects/{project_id}")
    expect(page.locator("#project-stage")).to_have_text("签约")
    expect(page.locator("#current-tasks")).to_contain_text("项目签约")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    walk.shot("project-approved")
    page.goto(f"/projects/{project_id}/approval-form")
    rows = page.locator("#approval-form tr.signature")
    expect(rows).to_have_count(10)
    for opinion in ("投资意向明确", "论证通过", "提交研判", "提交领导小组审议", "组建项目招引专班", "同意落地", "会议同意该项目落地"):
        expect(page.locator("#approval-form")).to_contain_text(opinion)
    expect(page.locator("#approval-form")).to_contain_text("郑国强（县长）")
    walk.shot("approval-form-print")
    printed = page.pdf(format="A4", print_background=True)
    keep_printed("approval-form.pdf", printed)
    assert documents.pages(printed) == 1, "a typical project's 审批表 prints on one A4 page"
    page.goto("/projects")
    walk.shot("ledger")
