"""The modeler speaks the page's language: bpmn-js's palette, context pad, replace menu and properties
panel, dmn-js's decision table and the upload's file picker are Chinese in the Chinese UI; English
in the English UI is the libraries' own."""
from __future__ import annotations


from playwright.sync_api import Page, expect

from tests.browser.conftest import login, screenshot, submit_and_load
from tests.browser.test_modeler import open_modeler
from tests.conftest import BPMN_DIR, Helper


def test_palette_context_pad_replace_menu_panel_table_and_file_picker_are_chinese(page: Page, bh: Helper) -> None:
    login(page, "bangongshi")
    open_modeler(page)
    lifecycle = page.locator(".zk-pane[data-file='project_lifecycle.bpmn']")
    palette = lifecycle.locator(".djs-palette")
    for title in ("创建任务", "创建开始事件", "创建网关", "抓手工具", "连线工具"):
        expect(palette.locator(f".entry[aria-label='{title}']")).to_have_count(1)
    page.click('.djs-element[data-element-id="confirm_intent"]')
    expect(lifecycle.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    expect(lifecycle.locator(".bio-properties-panel-group-header", has_text="常规")).to_be_visible()
    expect(lifecycle.locator("label[for='bio-properties-panel-name']")).to_have_text("名称")
    pad = lifecycle.locator(".djs-context-pad")
    for title in ("追加任务", "追加网关", "删除", "更改类型", "连接到其他元素"):
        expect(pad.locator(f".entry[title='{title}']")).to_have_count(1)
    pad.locator(".entry[title='更改类型']").click()
    menu = page.locator(".djs-popup")
    expect(menu).to_contain_text("业务规则任务")
    expect(menu.locator(".entry[title='并行多实例']")).to_have_count(1)
    screenshot(page, "modeler-chinese")
    page.keyboard.press("Escape")

    page.click(".zk-tab[data-file='approval_tier.dmn']")
    table = page.locator(".zk-pane[data-file='approval_tier.dmn']")
    expect(table.locator(".hit-policy")).to_contain_text("命中策略")
    expect(table).to_contain_text("当")
    expect(table).to_contain_text("则")

    picker = page.locator("form.upload .file-pick")
    expect(picker).to_contain_text("选择文件")
    expect(picker).to_contain_text("未选择文件")
    page.set_input_files("form.upload input[type=file]", str(BPMN_DIR / "approval_tier.dmn"))
    expect(picker.locator(".file-name")).to_have_text("approval_tier.dmn")


def test_english_ui_keeps_the_libraries_english(page: Page, bh: Helper) -> None:
    login(page, "bangongshi")
    submit_and_load(page, "form.lang-switch button")
    open_modeler(page)
    lifecycle = page.locator(".zk-pane[data-file='project_lifecycle.bpmn']")
    expect(lifecycle.locator(".djs-palette .entry[aria-label='Create task']")).to_have_count(1)
    page.click('.djs-element[data-element-id="confirm_intent"]')
    expect(lifecycle.locator(".bio-properties-panel-header-type")).to_have_text("User Task")
    expect(page.locator("form.upload .file-pick")).to_contain_text("Choose a file")
