"""Browser tests: the demo pages in Debian's chromium, driven by Playwright (sync API),
against the real local stack.

Playwright's own browser download is not reachable from here, so the tests launch the
system's chromium (`make chromium` installs it) and never run `playwright install`.
Without a chromium the tests are skipped, except under CI (the CI variable set), where a
missing browser is a failure: CI must install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from devstack import stack as devstack
from devstack.stack import RunningStack
from tests.browser.support import REPO, WATCH_VIOLATIONS, watch_console

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Chromium:
    """One Playwright and one browser for all the browser tests, started on first use (the
    version line after collection) and stopped after the last of them."""

    def __init__(self) -> None:
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None
        self.error: BaseException | None = None

    def start(self, executable: str) -> Browser:
        if self.browser is None and self.error is None:
            try:
                self.playwright = sync_playwright().start()
                self.browser = self.playwright.chromium.launch(
                    executable_path=executable, args=CHROMIUM_ARGS
                )
            except Exception as exc:  # reported by the header line and raised by the fixture
                self.error = exc
                self.stop()
        if self.error is not None:
            raise self.error
        assert self.browser is not None
        return self.browser

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None
        if self.playwright is not None:
            self.playwright.stop()
            self.playwright = None


_CHROMIUM = _Chromium()


def _browser_items(items: list[pytest.Item]) -> bool:
    return any(Path(str(item.path)).resolve().is_relative_to(HERE) for item in items)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """The browser's version in the pytest log, next to the collected count.

    (A pytest_report_header here would be read only when tests/browser is named on the
    command line: pytest loads this conftest during collection, after the header.)
    """
    if not _browser_items(items):
        return []
    executable = chromium_executable()
    if executable is None:
        consequence = "the browser tests fail (CI is set)" if os.environ.get("CI") else "skipped"
        return [f"chromium: not found on PATH; {consequence}"]
    try:
        return [f"chromium: {_CHROMIUM.start(executable).version} ({executable})"]
    except Exception as exc:
        return [f"chromium: {executable} did not start: {exc}"]


def pytest_unconfigure(config: pytest.Config) -> None:
    _CHROMIUM.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        message = "no chromium on PATH (make chromium installs Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    yield _CHROMIUM.start(executable)
    _CHROMIUM.stop()


@pytest.fixture(scope="package")
def stack(browser: Browser) -> Iterator[RunningStack]:
    # One stack for the whole browser suite: the per-IP limits of policy.yaml (30 lookups
    # and 20 submissions an hour) cover it, and every test uses values of its own.
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture
def context(browser: Browser, stack: RunningStack) -> Iterator[BrowserContext]:
    opened = browser.new_context(
        base_url=stack.router_url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": 960, "height": 900},
    )
    # Every CSP (and Trusted Types) violation the page meets, counted by the page itself.
    opened.add_init_script(WATCH_VIOLATIONS)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    opened = context.new_page()
    watch_console(opened)
    return opened
