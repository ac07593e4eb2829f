"""The shared browser fixtures (live server, Chromium page, engine helper) for these tests."""
from tests.browser.conftest import bh, browser, live_server, page  # noqa: F401 - re-exported fixtures
