"""Real-Chromium fixtures: a live Zhikong server on 127.0.0.1 and Playwright pages with sign-in."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.demo import DEMO_PASSWORD
from tests.conftest import Helper, attachments_dir, prepared_database
from webui import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"


class LiveServer:
    """A real HTTP server running the app in a background thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        app = create_app({"SECRET_KEY": "browser-tests", "ZHIKONG_DB": db, "DATABASE_URL": db.url, "ATTACHMENTS_DIR": attachments_dir()})
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server over a fresh SQLite database with the demo org and bpmn/ deployed."""
    db = prepared_database("sqlite", tmp_path)
    server = LiveServer(db)
    yield server
    server.stop()
    db.dispose()


@pytest.fixture
def bh(live_server: LiveServer) -> Helper:
    """Engine-side helper over the live server's database."""
    return Helper(live_server.db)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the session (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium'")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def csp_refusals(page: Page) -> list[str]:
    """Collect what the Content-Security-Policy refuses on this page (Chromium reports each refusal on the console)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: refused.append(str(error)) if "Content Security Policy" in str(error) else None)
    return refused


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh desktop-sized page (1366×768) whose relative URLs go to the live server; fails if the CSP refused anything."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(15000)
    fresh = context.new_page()
    refused = csp_refusals(fresh)
    yield fresh
    context.close()
    assert refused == [], refused


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real login form and wait until the page it leads to has loaded."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    submit_and_load(page, "button[type=submit]")


def logout(page: Page) -> None:
    """Sign out with the header's sign-out button and wait until the sign-in page has loaded."""
    submit_and_load(page, "form.logout button[type=submit]")


def submit_and_load(page: Page, selector: str) -> None:
    """Click what submits a form and wait for the load event of the page the answer brings.

    The click returns once the navigation it started has committed, so the load state waited
    for is the new page's; later checks wait on their own elements (no fixed network quiet)."""
    page.click(selector)
    page.wait_for_load_state("load")


def screenshot(page: Page, name: str) -> None:
    """With ZHIKONG_SCREENSHOTS=1, save a full-page screenshot under test-output/screenshots/ (for people to look at;
    no test reads it, and the browser tests' screenshots cost about 15 s of the suite)."""
    if _keeping():
        page.screenshot(path=str(_output(f"{name}.png")), full_page=True)


def keep_printed(name: str, pdf: bytes) -> None:
    """With ZHIKONG_SCREENSHOTS=1, save a printed page beside the screenshots."""
    if _keeping():
        _output(name).write_bytes(pdf)


def _keeping() -> bool:
    return os.environ.get("ZHIKONG_SCREENSHOTS") == "1"


def _output(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name
