"""The seminar page and its seats, against a local stack of its own (its counters start
full of seats and the tests use them up in file order): each session's seats left shown
on load, a full session refused before anyone types, a session filled while the page was
open answered with a clear message and fresh seats, and a queued application followed by
the page until the deliverer records it.

Four submissions in all, well under the form's 20 an hour per IP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from devstack import stack as devstack
from devstack.stack import RunningStack
from tests.browser.support import (
    REPO,
    application,
    apply_directly,
    assert_clean,
    english,
    form_facts,
    japanese,
    maintenance,
    shoot,
)

FORM = "/forms/seminar-apply"


@pytest.fixture(scope="module")
def stack(browser: Browser) -> Iterator[RunningStack]:
    # This module's own stack (it shadows the suite's): session B is filled up here.
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


def option(page: Page, value: str):
    return page.locator(f'#session option[value="{value}"]')


def loaded(page: Page) -> None:
    """The page, once it has read the form's seats (their text is filled in then)."""
    with page.expect_response(lambda r: r.url.endswith(FORM) and r.request.method == "GET"):
        page.goto("/form.html")
    expect(option(page, "A")).to_have_attribute("data-left", re.compile(r"^\d+$"))


def apply(page: Page) -> Response:
    with page.expect_response(
        lambda r: r.url.endswith(FORM) and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#apply")).not_to_have_attribute("aria-busy", "true")
    return answer.value


def test_each_session_shows_its_seats_left_and_the_period_when_the_page_loads(page: Page) -> None:
    loaded(page)

    assert option(page, "A").text_content() == "A 回 / Session A — 残り 30 席 / 30 seats left"
    assert option(page, "B").text_content() == "B 回 / Session B — 残り 3 席 / 3 seats left"
    expect(option(page, "A")).to_be_enabled()
    expect(option(page, "B")).to_be_enabled()
    shown = page.locator("#period")
    expect(shown).to_be_visible()
    assert english(shown) == (
        "Applications are taken from 2026-01-01 00:00 (UTC+09:00) to "
        "2030-03-31 23:59 (UTC+09:00)."
    )
    assert japanese(shown) == (
        "受付期間: 2026年1月1日 00:00（UTC+09:00） 〜 2030年3月31日 23:59（UTC+09:00）"
    )
    expect(page.locator("#availability")).to_be_hidden()
    expect(page.locator("#apply button")).to_be_enabled()
    shoot(page, "form-seats")
    assert_clean(page)


def test_a_session_filled_while_the_page_was_open_is_refused_clearly_and_shown_full(
    page: Page, stack: RunningStack
) -> None:
    first = apply_directly(stack, name="先客 一", email="a@example.com", seats=2, session="B")
    assert first.status_code == 201
    loaded(page)
    assert option(page, "B").text_content() == "B 回 / Session B — 残り 1 席 / 1 seat left"
    page.fill("#name", "山田 花子")
    page.fill("#email", "hanako@example.com")
    page.select_option("#session", "B")
    # Someone else takes the last seat meanwhile.
    last = apply_directly(stack, name="先客 二", email="b@example.com", session="B")
    assert last.status_code == 201

    answer = apply(page)

    assert (answer.status, answer.json()["code"]) == (409, "capacity_full")
    title = page.locator("#problem-title")
    expect(page.locator("#problem")).to_be_visible()
    assert english(title) == (
        "The session you chose is now full; nothing was recorded. Choose a session with "
        "seats left and press Apply again."
    )
    assert japanese(title).startswith("お選びの回は満席になりました。")
    # The seats are read again: B is full and no longer chosen; the answers stay.
    expect(option(page, "B")).to_be_disabled()
    assert option(page, "B").text_content() == "B 回 / Session B — 満席 / Full"
    expect(page.locator("#session")).to_have_value("")
    expect(page.locator("#name")).to_have_value("山田 花子")
    expect(page.locator("#done")).to_be_hidden()
    shoot(page, "form-session-full")
    assert_clean(page)


def test_a_full_session_is_shown_full_and_cannot_be_chosen_before_anyone_types(
    page: Page, stack: RunningStack
) -> None:
    assert form_facts(stack)["seats"]["choices"]["B"]["left"] == 0

    loaded(page)

    expect(option(page, "B")).to_be_disabled()
    assert option(page, "B").text_content() == "B 回 / Session B — 満席 / Full"
    expect(option(page, "A")).to_be_enabled()
    assert option(page, "A").text_content() == "A 回 / Session A — 残り 30 席 / 30 seats left"
    # Nothing was typed and nothing was sent: the page knew from its first answer.
    expect(page.locator("#name")).to_have_value("")
    expect(page.locator("#problem")).to_be_hidden()
    assert_clean(page)


def test_a_queued_application_is_followed_until_the_deliverer_records_it(
    page: Page, stack: RunningStack
) -> None:
    loaded(page)
    page.fill("#name", "鈴木 一郎")
    page.fill("#email", "ichiro@example.com")
    page.fill("#seats", "2")
    page.select_option("#session", "A")
    maintenance(stack, enabled=True)
    try:
        answer = apply(page)
    finally:
        maintenance(stack, enabled=False)

    assert (answer.status, answer.json()["status"]) == (202, "queued")
    receipt = answer.json()["receipt"]
    assert english(page.locator("#done-title")) == "Your application is safe with us."
    follow = page.locator("#follow")
    expect(follow).to_be_visible()
    assert english(follow) == "Checking whether it is recorded…"
    # The page asks at least once while the entry is still queued.
    with page.expect_response(lambda r: "/receipts/" in r.url) as asked:
        pass
    assert asked.value.json() == {"status": "queued"}
    assert english(page.locator("#done-title")) == "Your application is safe with us."
    shoot(page, "form-queued-following")

    while stack.pump_once("DeliverFunction").received:
        pass

    expect(page.locator("#done-title")).to_contain_text("Your application is recorded.", timeout=20_000)
    assert english(page.locator("#done-title")) == "Your application is recorded."
    assert japanese(page.locator("#done-title")) == "お申し込みを受け付けました。"
    assert english(follow) == "It is now recorded."
    assert japanese(follow) == "登録が完了しました。"
    assert page.locator("#receipt").text_content() == receipt
    recorded = application(stack, receipt)
    assert recorded is not None
    assert recorded["回"]["value"] == "A"
    # Two seats of A are taken by it.
    assert form_facts(stack)["seats"]["choices"]["A"]["left"] == 28
    shoot(page, "form-queued-recorded")
    assert_clean(page)
