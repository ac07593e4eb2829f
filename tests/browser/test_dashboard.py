"""The leader dashboard in real Chromium: charts drawn on a projector and a phone, numbers that open their projects."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from engine.workflow import definitions
from engine import demo
from engine.platform.attachments import FileStore
from tests.browser.conftest import LiveServer, login, screenshot
from tests.conftest import BPMN_DIR

SIZES = {"projector": (1920, 1080), "phone": (390, 844)}


@pytest.fixture
def county(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    """The live server as `make run` leaves it: every definition deployed, the demo county's projects and their past."""
    files = definitions.read_bundle(BPMN_DIR)
    with live_server.db.session() as s:
        for process in ("coordination_item", "assessment_scoring"):
            definitions.deploy(s, files, process)
        demo.load_projects(s, FileStore(tmp_path / "attachments"))
    return live_server


def open_dashboard(browser: Browser, server: LiveServer, size: str) -> Page:
    width, height = SIZES[size]
    context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height}, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    login(page, "xianzhang")
    page.goto("/dashboard")
    page.wait_for_selector("#chart-trend canvas")
    return page


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_chart_is_drawn_and_fits_the_screen(browser: Browser, county: LiveServer, size: str) -> None:
    page = open_dashboard(browser, county, size)
    for chart in ("funnel", "money", "lights", "ranking", "trend"):
        box = page.locator(f"#chart-{chart} canvas").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150, (chart, box)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the {size} screen"
    screenshot(page, f"dashboard-{size}")
    page.context.close()


def test_numbers_open_the_projects_behind_them(browser: Browser, county: LiveServer) -> None:
    page = open_dashboard(browser, county, "projector")
    data = json.loads(page.locator("#dashboard-data").text_content() or "{}")
    manufacturing = int(page.locator("[data-kpi=mfg7] b").inner_text())
    assert manufacturing > 0
    page.click("[data-kpi=mfg7]")
    assert "m7=1" in page.url
    assert int(page.locator("#ledger-total").inner_text()) == manufacturing
    stage = next(item for item in data["funnel"] if item["value"] > 0)
    page.goto(stage["link"])
    assert int(page.locator("#ledger-total").inner_text()) == stage["value"]
    assert all(item.get("link") for item in data["funnel"] + data["money"] + data["ranking"])
    page.context.close()
