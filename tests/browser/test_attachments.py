"""In Chromium: a town official attaches documents to a project and a task, a renamed program is refused, the file
downloads under its Chinese name, the printed 审批表 lists it, another town gets 403, and the uploader removes one."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Dialog, Page, expect

from tests import documents
from tests.browser.conftest import login, logout, screenshot, submit_and_load
from tests.conftest import Helper


def test_an_official_attaches_downloads_prints_and_removes_documents(page: Page, bh: Helper, tmp_path: Path) -> None:
    project_id = bh.register(name="中药材精深加工产业园")
    task = bh.only_ready(project_id)
    files = {name: tmp_path / name for name in ("审批材料.pdf", "现场照片.png", "安装程序.pdf", "洽谈纪要.docx")}
    files["审批材料.pdf"].write_bytes(documents.pdf())
    files["现场照片.png"].write_bytes(documents.png())
    files["安装程序.pdf"].write_bytes(documents.exe())
    files["洽谈纪要.docx"].write_bytes(documents.docx())

    login(page, "anwen")
    page.goto(f"/projects/{project_id}")
    card = page.locator("#attachments")
    expect(card).to_contain_text("暂无附件")
    card.locator("input[type=file]").set_input_files(files["审批材料.pdf"])
    submit_and_load(page, "#attachments .upload-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("已上传附件“审批材料.pdf”")
    expect(page.locator("#attachments .attachment-link")).to_have_text(["审批材料.pdf"])

    page.locator("#attachments input[type=file]").set_input_files(files["安装程序.pdf"])
    submit_and_load(page, "#attachments .upload-form button[type=submit]")
    expect(page.locator("#attachment-file-error")).to_contain_text("附件“安装程序.pdf”的内容不是 PDF 文件")
    expect(page.locator(".flash.error")).to_contain_text("没有保存任何内容")
    screenshot(page, "attachment-refused")
    page.locator("input[type=file]").set_input_files(files["现场照片.png"])  # the refusal page takes another file at once
    submit_and_load(page, ".upload-form button[type=submit]")
    expect(page.locator("#attachments .attachment-link")).to_have_text(["现场照片.png", "审批材料.pdf"])

    page.goto(f"/tasks/{task.id}")
    page.locator("#attachments input[type=file]").set_input_files(files["洽谈纪要.docx"])
    submit_and_load(page, "#attachments .upload-form button[type=submit]")
    expect(page.locator("#attachments .attachment-link")).to_have_text(["洽谈纪要.docx"])

    page.goto(f"/projects/{project_id}")
    expect(page.locator("#attachments tbody tr").first).to_contain_text(f"任务：{task.name}")
    with page.expect_download() as waiting:
        page.locator("#attachments .attachment-link", has_text="审批材料.pdf").click()
    download = waiting.value
    assert download.suggested_filename == "审批材料.pdf"
    assert Path(download.path()).read_bytes() == documents.pdf()
    screenshot(page, "project-attachments")

    page.goto(f"/projects/{project_id}/approval-form")
    expect(page.locator("#approval-attachments")).to_contain_text("审批材料.pdf（PDF，")
    expect(page.locator("#approval-attachments .attachment-name")).to_have_count(3)

    page.goto(f"/projects/{project_id}")
    asked: list[str] = []

    def answer_yes(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer_yes)
    row = page.locator("#attachments tbody tr", has_text="现场照片.png")
    submit_and_load(page, "#attachments tbody tr:has-text('现场照片.png') .remove-attachment button")
    expect(page.locator(".flash.success")).to_contain_text("已删除附件“现场照片.png”")
    assert asked == ["确定删除附件“现场照片.png”吗？删除将记入审计日志。"]
    expect(row).to_have_count(0)
    link = page.locator("#attachments .attachment-link", has_text="审批材料.pdf").get_attribute("href")
    logout(page)

    login(page, "xinwo")
    answer = page.goto(str(link))
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")

    logout(page)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bangongshi")
    page.goto(f"/projects/{project_id}")
    expect(page.locator("#attachments .attachment-link")).to_have_count(2)
    expect(page.locator("#attachments .remove-attachment")).to_have_count(0)  # not the uploader, not an administrator
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the attachments overflow a phone"
    screenshot(page, "project-attachments-390")
