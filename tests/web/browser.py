"""Chromium (Debian's, through Playwright) for the browser tests, in one place: a browser
context that accepts downloads, a page that fails its test on any script error, and
screenshots in test-artifacts/web/ for people to look at.

Use one context per module (starting Chromium costs about a second of CPU)::

    @pytest.fixture(scope="module")
    def context() -> Iterator[BrowserContext]:
        with browser_context() as context:
            yield context
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.web.live import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def browser_context(width: int = 1280, height: int = 900) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        try:
            yield context
        finally:
            context.close()
            browser.close()


@contextmanager
def checked_page(context: BrowserContext) -> Iterator[Page]:
    """A new page; an uncaught script error on it fails the test when the page closes."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
