"""The answers the local stack does not give on demand, each scripted in front of the real
pages in chromium (Playwright's routing): rate limits with their Retry-After, a route
switched off next to kintone unavailable, and a lost answer, which is a real one: the
request reaches the relay and only its answer is dropped. (Every other answer's wording is
checked quickly under node by tests/e2e/test_devstack_web.py.)"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from email.utils import formatdate
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.browser.support import applications_named, assert_clean, english, japanese, shoot

LOOKUP = "/views/deal-status"
FORM = "/forms/seminar-apply"
PRESS_APPLY = "Your answers are kept: press Apply to try again."
TOKYO = ZoneInfo("Asia/Tokyo")  # the browser context's time zone


def answer(page: Page, path: str, status: int, body: Any, headers: dict[str, str] | None = None):
    def fulfil(route: Route) -> None:
        route.fulfill(
            status=status,
            headers={"Content-Type": "application/problem+json", **(headers or {})},
            body=json.dumps(body),
        )

    page.route(f"**{path}", fulfil)


def submit(page: Page, path: str, name: str = "山田 花子") -> None:
    """Fills and sends the page at `path`, and waits until it has shown what went wrong."""
    page.goto(path)
    if path == "/":
        page.fill("#owner_id", "A1")
        page.fill("#deal_id", "D000001")
    else:
        page.fill("#name", name)
        page.fill("#email", "kenta@example.com")
    page.locator("form button").click()
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator("form")).not_to_have_attribute("aria-busy", "true")


@pytest.mark.parametrize(
    ("path", "retry_after", "state"),
    [("/", "seconds", "lookup-rate-limited"), ("/form.html", "date", "form-rate-limited")],
)
def test_too_many_requests_say_when_to_try_again(
    page: Page, path: str, retry_after: str, state: str
) -> None:
    # Retry-After in either of its forms (RFC 9110): seconds, or an HTTP date.
    value = "120" if retry_after == "seconds" else formatdate(time.time() + 120, usegmt=True)
    limited = {"code": "rate_limited", "title": "Too many requests"}
    answer(page, LOOKUP if path == "/" else FORM, 429, limited, {"Retry-After": value})
    earliest = datetime.now(TOKYO) + timedelta(seconds=110)

    submit(page, path)

    shown = english(page.locator("#problem-title"))
    found = re.match(
        r"Too many requests in a short time\. Please try again after (\d\d:\d\d) "
        r"\(in about 2 minutes\)\.",
        shown,
    )
    assert found is not None, shown
    latest = datetime.now(TOKYO) + timedelta(seconds=121)
    assert found.group(1) in {earliest.strftime("%H:%M"), latest.strftime("%H:%M")}
    assert f"{found.group(1)} 以降（約 2 分後）" in japanese(page.locator("#problem-title"))
    if path == "/form.html":
        assert shown.endswith(PRESS_APPLY)
    shoot(page, state)
    assert_clean(page)


SWITCHED_OFF_OR_DOWN = {
    "/": (
        "This lookup is switched off for now. Please ask your contact person.",
        "The deal records cannot be reached just now (for example, during maintenance). "
        "Please try again in a few minutes.",
    ),
    "/form.html": (
        "Applications are closed for now. Please try again later.",
        f"Applications cannot be taken just now; nothing was recorded. {PRESS_APPLY}",
    ),
}


@pytest.mark.parametrize("path", SWITCHED_OFF_OR_DOWN)
def test_a_route_switched_off_and_an_unavailable_kintone_read_differently(
    page: Page, path: str
) -> None:
    switched_off, unavailable = SWITCHED_OFF_OR_DOWN[path]
    route = LOOKUP if path == "/" else FORM
    answer(page, route, 503, {"code": "route_disabled", "status": 503})

    submit(page, path)
    assert english(page.locator("#problem")) == switched_off
    shoot(page, "lookup-switched-off" if path == "/" else "form-closed")

    page.unroute(f"**{route}")
    answer(page, route, 503, {"code": "upstream_unavailable", "status": 503})
    submit(page, path)
    assert english(page.locator("#problem")) == unavailable
    assert_clean(page)


def test_a_lost_answer_is_retried_with_the_same_key_and_recorded_once(page: Page, stack) -> None:
    keys: list[str] = []
    receipts: list[str] = []

    def lose_the_first_answer(route: Route, request: Request) -> None:
        if request.method != "POST":  # the page reading its seats on load
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if len(keys) == 1:
            # The relay gets the application and records it; its answer never arrives.
            receipts.append(route.fetch().json()["receipt"])
            route.abort("connectionreset")
        elif len(keys) == 2:
            route.continue_()
        else:
            route.fulfill(status=201, json={"receipt": "not-asked", "status": "recorded"})

    page.route(f"**{FORM}", lose_the_first_answer)
    submit(page, "/form.html", name="高橋 健太")
    assert english(page.locator("#problem")) == (
        f"The server could not be reached. Check your connection. {PRESS_APPLY}"
    )
    expect(page.locator("#name")).to_have_value("高橋 健太")
    shoot(page, "form-network-failure")

    page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#done")).to_be_visible()

    # The retry got the first answer: one application, under the first receipt.
    assert keys[0] == keys[1]
    assert page.locator("#receipt").inner_text() == receipts[0]
    assert [r["受付ID"]["value"] for r in applications_named(stack, "高橋 健太")] == receipts
    # The next application is a new one, with a new key.
    page.fill("#name", "高橋 健太")
    page.fill("#email", "kenta@example.com")
    page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#receipt")).to_have_text("not-asked")
    assert len(keys) == 3
    assert keys[2] != keys[0]
