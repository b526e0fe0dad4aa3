"""The seminar page and its seats, against a local stack of its own (its counters start
full of seats and the tests use them up in file order): each session's seats left shown
on load, a full session refused before anyone types, a session filled while the page was
open answered with a clear message and fresh seats, and a queued application followed by
the page until the deliverer records it. Then, on scripted answers, a form without seats
or a period, one not open yet, and a follow-up that stops at a refusal, 404 or 429.

Four submissions reach the stack, well under the form's 20 an hour per IP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, Route, expect

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
        "Applications are taken from 2026-01-01 00:00 (UTC+09:00) to 2030-03-31 23:59 (UTC+09:00)."
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
        "The session you chose has not enough seats left for this application; nothing was "
        "recorded. Choose a session with seats left, or fewer seats, and press Apply again."
    )
    assert japanese(title).startswith("お選びの回には、お申し込みの人数分の空席がありません。")
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

    recorded_title = "Your application is recorded."
    expect(page.locator("#done-title")).to_contain_text(recorded_title, timeout=20_000)
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


# -- scripted answers: what this stack's policy never says ------------------------------------

OPEN_WITHOUT_SEATS = {
    "form": "seminar-apply",
    "open": True,
    "state": "open",
    "opens": None,
    "closes": None,
    "next_open": None,
    "hours": None,
    "seats": None,
}


def facts_answer(page: Page, facts: dict) -> None:
    def fulfil(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        route.fulfill(status=200, json=facts, headers={"Cache-Control": "public, max-age=5"})

    page.route(f"**{FORM}", fulfil)


def test_a_form_without_seats_or_a_period_offers_every_session_as_it_is(page: Page) -> None:
    facts_answer(page, OPEN_WITHOUT_SEATS)

    with page.expect_response(lambda r: r.url.endswith(FORM)):
        page.goto("/form.html")

    page.wait_for_load_state("networkidle")
    assert option(page, "A").text_content() == "A 回 / Session A"
    assert option(page, "B").text_content() == "B 回 / Session B"
    expect(option(page, "B")).to_be_enabled()
    assert option(page, "B").get_attribute("data-left") is None
    expect(page.locator("#period")).to_be_hidden()
    expect(page.locator("#availability")).to_be_hidden()
    expect(page.locator("#apply button")).to_be_enabled()
    assert_clean(page)


def test_a_form_not_open_yet_says_when_it_opens_and_cannot_be_sent(page: Page) -> None:
    opens = "2027-04-01T09:00:00+09:00"
    facts_answer(
        page,
        {**OPEN_WITHOUT_SEATS, "open": False, "state": "not_open_yet", "opens": opens,
         "next_open": opens},
    )  # fmt: skip

    page.goto("/form.html")

    message = page.locator("#availability-message")
    expect(page.locator("#availability")).to_be_visible()
    assert english(message) == "This is not open yet. It opens on 2027-04-01 09:00 (UTC+09:00)."
    assert japanese(message) == (
        "受付はまだ始まっていません。2027年4月1日 09:00（UTC+09:00）から受け付けます。"
    )
    assert english(page.locator("#period")) == (
        "Applications are taken from 2027-04-01 09:00 (UTC+09:00)."
    )
    expect(page.locator("#apply button")).to_be_disabled()
    shoot(page, "form-not-open-yet")
    assert_clean(page)


@pytest.mark.parametrize(
    ("receipt_answer", "title", "follow"),
    [
        ({"status": 200, "json": {"status": "refused", "reason": "kintone_refused"}},
         "Your application could not be recorded.", None),
        ({"status": 404, "json": {"status": 404, "code": "not_found"}},
         "Your application is safe with us.",
         "Its progress cannot be checked just now; it will be recorded in turn."),
        ({"status": 429, "json": {"status": 429, "code": "rate_limited"}},
         "Your application is safe with us.",
         "Its progress cannot be checked just now; it will be recorded in turn."),
    ],
)  # fmt: skip
def test_following_a_queued_receipt_stops_at_a_refusal_an_unknown_receipt_or_a_limit(
    page: Page, receipt_answer: dict, title: str, follow: str | None
) -> None:
    asked: list[str] = []

    def queued(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=202, json={"receipt": "7RP7-D0KQ-HZA", "status": "queued"})
        else:
            route.fallback()

    def receipt(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(**receipt_answer)

    page.route(f"**{FORM}", queued)
    page.route(f"**{FORM}/receipts/*", receipt)
    page.goto("/form.html")
    page.fill("#name", "田中 三郎")
    page.fill("#email", "saburo@example.com")
    apply(page)

    done_title = page.locator("#done-title")
    expect(done_title).to_contain_text(title, timeout=10_000)
    if follow is None:
        expect(page.locator("#follow")).to_be_hidden()
        assert japanese(done_title) == "お申し込みを登録できませんでした。"
    else:
        expect(page.locator("#follow")).to_contain_text(follow, timeout=10_000)
    # One look, then no more: asking again would not tell more.
    page.wait_for_timeout(3_000)
    assert [url.rsplit("/", 1)[1] for url in asked] == ["7RP7-D0KQ-HZA"]
    assert_clean(page)
