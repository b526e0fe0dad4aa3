"""What the browser tests share: screenshots, the text a page shows in each language, the
policy violations and console lines a page met, and the local stack's kintone emulator."""

from __future__ import annotations

import uuid
import weakref
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Locator, Page

from devstack.stack import RunningStack
from sekisho.kintone.client import KintoneClient, TokenSource

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

# Runs before any of the page's own scripts (Playwright's init scripts are not subject to
# the page's CSP): every securitypolicyviolation event, CSP and Trusted Types alike.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    sample: event.sample,
  });
});
"""

_CONSOLE: weakref.WeakKeyDictionary[Page, list[dict[str, str]]] = weakref.WeakKeyDictionary()

# The text of an element in one language: its spans carrying that lang.
_TEXT_IN = """(element, lang) => Array.from(
  element.querySelectorAll(`[lang="${lang}"]`), (span) => span.textContent.trim()
).join(" ")"""


def watch_console(page: Page) -> None:
    lines: list[dict[str, str]] = []
    page.on("console", lambda m: lines.append({"type": m.type, "text": m.text}))
    page.on("pageerror", lambda e: lines.append({"type": "pageerror", "text": str(e)}))
    _CONSOLE[page] = lines


def console(page: Page) -> list[dict[str, str]]:
    return _CONSOLE.get(page, [])


def policy_violations(page: Page) -> list[Any]:
    """What the page's CSP refused, as the page saw it and as chromium logged it."""
    seen = page.evaluate("window.__violations || []")
    logged = [
        line
        for line in console(page)
        if "Content Security Policy" in line["text"] or "Trusted" in line["text"]
    ]
    return [*seen, *logged]


def page_errors(page: Page) -> list[dict[str, str]]:
    return [line for line in console(page) if line["type"] == "pageerror"]


def assert_clean(page: Page) -> None:
    """Nothing on the page was refused by its policy and no script failed."""
    assert policy_violations(page) == []
    assert page_errors(page) == []


def english(locator: Locator) -> str:
    return locator.evaluate(_TEXT_IN, "en")


def japanese(locator: Locator) -> str:
    return locator.evaluate(_TEXT_IN, "ja")


def shoot(page: Page, state: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{state}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


# -- the kintone emulator of the local stack --------------------------------------------------


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever proxy the machine names
    return session


def maintenance(stack: RunningStack, *, enabled: bool) -> None:
    with _http() as http:
        answer = http.post(
            f"{stack.kintone.url}/_emulator/maintenance", json={"enabled": enabled}, timeout=10
        )
    answer.raise_for_status()


def add_deal(stack: RunningStack, **fields: str) -> str:
    """Adds a deal to app 1 through kintone's REST API with the demo add-only token."""
    with _http() as http:
        answer = http.post(
            f"{stack.kintone.url}/k/v1/record.json",
            json={"app": 1, "record": {code: {"value": value} for code, value in fields.items()}},
            headers={"X-Cybozu-API-Token": "deals-add-token"},
            timeout=10,
        )
    answer.raise_for_status()
    return str(answer.json()["id"])


def _seminar_records(stack: RunningStack, query: str) -> list[dict[str, Any]]:
    # The demo view token: the intake path itself holds no token that can read the app.
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    return client.get_records(2, query).records


def application(stack: RunningStack, receipt: str) -> dict[str, Any] | None:
    """The seminar application recorded under `receipt` (as the relay issued it)."""
    records = _seminar_records(stack, f'受付ID = "{receipt}" limit 1')
    return records[0] if records else None


def applications_named(stack: RunningStack, name: str) -> list[dict[str, Any]]:
    """Every seminar application whose 氏名 is `name` (plain text, no quotes)."""
    return _seminar_records(stack, f'氏名 = "{name}" order by $id asc limit 100')


# -- the seminar form, straight over HTTP -------------------------------------------------------


def form_facts(stack: RunningStack) -> dict[str, Any]:
    """What GET /forms/seminar-apply tells anyone of the form now."""
    with _http() as http:
        answer = http.get(f"{stack.router_url}/forms/seminar-apply", timeout=10)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def apply_directly(stack: RunningStack, **fields: object) -> requests.Response:
    """A submission sent as another browser would send it, with a key of its own."""
    with _http() as http:
        return http.post(
            f"{stack.router_url}/forms/seminar-apply",
            json={"fields": fields},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )
