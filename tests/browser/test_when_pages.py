"""A route's when: as a visitor meets it in chromium, against a local stack of its own
whose form's application period has ended and whose lookup answers only 10.0.0.0/8 (the
stack sees 127.0.0.1): each page says so in Japanese and English, with the closing time
on the route's own clock, and kintone is not called. The wording of the other two (not
open yet, outside the hours) is checked on scripted answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, Route, expect

from devstack import stack as devstack
from devstack.stack import RunningStack
from tests.browser.support import REPO, assert_clean, english, japanese, shoot

CLOSED = {"opens": "2020-01-01T00:00:00+09:00", "closes": "2021-03-31T17:30:00+09:00"}


@pytest.fixture(scope="module")
def stack(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # This module's own stack (it shadows the suite's): its policy closes the form.
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    policy["forms"]["seminar-apply"]["when"] = CLOSED
    policy["views"]["deal-status"]["when"] = {"networks": ["10.0.0.0/8"]}
    path: Path = tmp_path_factory.mktemp("when-pages") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with devstack.start(repo_root=REPO, policy=path, pump=False) as running:
        yield running


def kintone_requests(stack: RunningStack) -> int:
    return int(stack.kintone.emulator.controls.stats()["requests"])


def apply(page: Page) -> None:
    # As a page that could not read the form's facts (GET) would: it sends, and the
    # relay's own answer is what it shows.
    page.route(
        "**/forms/seminar-apply",
        lambda route: route.abort() if route.request.method == "GET" else route.fallback(),
    )
    page.goto("/form.html")
    page.fill("#name", "山田 花子")
    page.fill("#email", "hanako@example.com")
    page.locator("form button").click()
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator("form")).not_to_have_attribute("aria-busy", "true")


def test_a_closed_form_says_it_has_closed_and_when(page: Page, stack: RunningStack) -> None:
    before = kintone_requests(stack)
    apply(page)
    title = page.locator("#problem-title")
    assert english(title) == "This has closed. It closed on 2021-03-31 17:30 (UTC+09:00)."
    assert (
        japanese(title) == "受付は終了しました。2021年3月31日 17:30（UTC+09:00）に締め切りました。"
    )
    # Pressing Apply again would change nothing: the page does not ask for it.
    assert "press Apply" not in english(page.locator("#problem"))
    assert kintone_requests(stack) == before
    shoot(page, "form-period-closed")
    assert_clean(page)


def test_a_lookup_from_outside_its_network_says_so(page: Page, stack: RunningStack) -> None:
    page.goto("/")
    page.fill("#owner_id", "A1")
    page.fill("#deal_id", "D000001")
    page.locator("form button").click()
    expect(page.locator("#problem")).to_be_visible()
    shown = page.locator("#problem-title")
    assert english(shown) == "This is not available from your network."
    assert japanese(shown) == "お使いのネットワークからはご利用いただけません。"
    assert_clean(page)


@pytest.mark.parametrize(
    ("problem", "en", "ja"),
    [
        (
            {
                "code": "not_open_yet",
                "opens": "2027-04-01T09:00:00+09:00",
                "next_open": "2027-04-01T09:00:00+09:00",
            },
            "This is not open yet. It opens on 2027-04-01 09:00 (UTC+09:00).",
            "受付はまだ始まっていません。2027年4月1日 09:00（UTC+09:00）から受け付けます。",
        ),
        (
            {"code": "outside_hours", "next_open": "2026-12-14T09:00:00+09:00"},
            "This is closed at this hour. It opens again on 2026-12-14 09:00 (UTC+09:00).",
            "ただいま受付時間外です。次は2026年12月14日 09:00（UTC+09:00）から受け付けます。",
        ),
        (
            {"code": "outside_hours"},  # the period ends before the hours open again
            "This is closed at this hour.",
            "ただいま受付時間外です。",
        ),
    ],
)
def test_a_form_not_open_yet_or_outside_its_hours_says_when_it_opens(
    page: Page, problem: dict, en: str, ja: str
) -> None:
    def fulfil(route: Route) -> None:
        route.fulfill(
            status=403,
            headers={"Content-Type": "application/problem+json"},
            body=json.dumps({"status": 403, "title": "closed", **problem}),
        )

    page.route("**/forms/seminar-apply", fulfil)
    apply(page)
    title = page.locator("#problem-title")
    assert (english(title), japanese(title)) == (en, ja)
    assert_clean(page)


def test_a_closed_form_says_so_on_load_and_cannot_be_sent_before_anyone_types(
    page: Page, stack: RunningStack
) -> None:
    before = kintone_requests(stack)

    page.goto("/form.html")

    shown = page.locator("#availability")
    expect(shown).to_be_visible()
    message = page.locator("#availability-message")
    assert english(message) == "This has closed. It closed on 2021-03-31 17:30 (UTC+09:00)."
    assert japanese(message) == (
        "受付は終了しました。2021年3月31日 17:30（UTC+09:00）に締め切りました。"
    )
    expect(page.locator("#apply button")).to_be_disabled()
    assert english(page.locator("#period")) == (
        "Applications are taken from 2020-01-01 00:00 (UTC+09:00) to 2021-03-31 17:30 (UTC+09:00)."
    )
    expect(page.locator("#name")).to_have_value("")
    assert kintone_requests(stack) == before
    shoot(page, "form-closed-on-load")
    assert_clean(page)
