"""Every shipped .bpmn and .dmn survives the modeler: exported by bpmn-js / dmn-js (saveXML, as the
page's save does), put back into the draft, and deployed with what the engine reads intact."""
from __future__ import annotations

from pathlib import Path

from lxml import etree
from playwright.sync_api import Page, expect

from engine.workflow import definitions
from tests.browser.conftest import login, submit_and_load
from tests.conftest import BPMN_DIR, Helper
from tests.engine.test_diagram import NS

SHIPPED = sorted(p.name for p in BPMN_DIR.iterdir() if p.suffix in (".bpmn", ".dmn"))
PROCESSES = ("project_lifecycle", "coordination_item", "assessment_scoring")


def export_from_modeler(page: Page, name: str, folder: Path) -> Path:
    """Open the file's tab and download it as the editor exports it."""
    page.click(f".zk-tab[data-file='{name}']")
    with page.expect_download() as info:
        page.click("#zk-download")
    assert info.value.suggested_filename == name
    target = folder / name
    info.value.save_as(target)
    return target


def open_modeler(page: Page, process_id: str) -> None:
    page.goto(f"/definitions/{process_id}/modeler")
    page.wait_for_selector("#zk-modeler[data-ready='1']", timeout=30000)


def test_every_shipped_file_saved_by_the_modeler_deploys(page: Page, bh: Helper, tmp_path: Path) -> None:
    """Exported once from the modeler and deployed through its page as the lifecycle, then as each other process."""
    assert {"coordination_item.bpmn", "project_lifecycle.bpmn", "approval_tier.dmn", "assessment_scoring.dmn"} <= set(SHIPPED)
    with bh.db.session() as s:
        for other in PROCESSES[1:]:
            definitions.deploy(s, definitions.read_bundle(BPMN_DIR), other)
    login(page, "bangongshi")
    open_modeler(page, PROCESSES[0])
    exported = {name: export_from_modeler(page, name, tmp_path) for name in SHIPPED}

    for name, path in exported.items():
        page.set_input_files("form.upload input[type=file]", str(path))
        submit_and_load(page, "form.upload button[type=submit]")
        expect(page.locator("p.flash.success")).to_contain_text(f"已将 {name} 放入草稿")
    open_modeler(page, PROCESSES[0])
    page.click("#zk-deploy")
    expect(page.locator("#zk-status")).to_contain_text("已部署第2版")

    saved = {name: path.read_text(encoding="utf-8") for name, path in exported.items()}
    with bh.db.session() as s:
        for other in PROCESSES[1:]:  # the same exports deploy as every other process of the bundle
            definitions.deploy(s, {**definitions.read_bundle(BPMN_DIR), **saved}, other)
        for process_id in PROCESSES:
            row = definitions.latest(s, process_id)
            assert row.version == 2 and all(row.files[name] == text for name, text in saved.items()), process_id
    report = etree.fromstring(saved["coordination_item.bpmn"].encode()).find(".//bpmn:userTask[@id='report_item']", NS)
    loop = report.find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert loop.find("bpmn:loopDataInputRef", NS).text == "items"
    assert loop.find("bpmn:inputDataItem", NS).get("name") == "item"
