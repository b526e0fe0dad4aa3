"""The deal-status lookup page in chromium against the local stack: what a trading partner
sees for a match, for a miss, for a value the relay refuses and while kintone is down."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Response, expect

from tests.browser.support import assert_clean, english, focused_id, maintenance, shoot

LOOKUP = "/views/deal-status"
NOT_FOUND = "No deal matched. Check the owner ID and the deal ID, then try again."


def look_up(page: Page, owner: str, deal: str) -> Response:
    page.goto("/")
    page.fill("#owner_id", owner)
    page.fill("#deal_id", deal)
    with page.expect_response(lambda r: r.url.endswith(LOOKUP)) as answer:
        page.get_by_role("button", name=re.compile("Look up")).click()
    expect(page.locator("#lookup")).not_to_have_attribute("aria-busy", "true")
    return answer.value


def test_a_matching_owner_and_deal_show_the_deal_and_nothing_else(page: Page) -> None:
    page.goto("/")
    shoot(page, "lookup-empty")
    # By keyboard alone: type, Tab to the next field, Enter submits.
    page.focus("#owner_id")
    page.keyboard.type("A1")
    page.keyboard.press("Tab")
    assert focused_id(page) == "deal_id"
    page.keyboard.type("D000001")
    with page.expect_response(lambda r: r.url.endswith(LOOKUP)) as answer:
        page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_visible()

    sent = answer.value.request
    assert answer.value.status == 200
    # The IDs travel in the body, never in the URL.
    assert sent.url == page.url.rstrip("/") + LOOKUP
    assert sent.post_data_json == {"match": {"owner_id": "A1", "deal_id": "D000001"}}
    cells = page.locator("#records tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["倉庫管理システム更改", "1,200,000", "商談中"]
    assert english(page.locator("#records thead")) == "Deal Amount (JPY) Status"
    assert page.locator("#records th").count() == 3  # the projection, nothing else
    assert english(page.locator("#status")) == "1 deal found."
    assert focused_id(page) == "results-title"
    expect(page.locator("#problem")).to_be_hidden()
    shoot(page, "lookup-found")
    assert_clean(page)


def test_a_miss_says_no_deal_matched_whichever_value_was_wrong(page: Page) -> None:
    shown = []
    for owner, deal in (("A1", "D999990"), ("ZZ99", "D000001")):
        answer = look_up(page, owner, deal)

        assert (answer.status, answer.json()["code"]) == (404, "not_found")
        expect(page.locator("#problem")).to_be_visible()
        shown.append(english(page.locator("#problem")))
        assert focused_id(page) == "problem"
        # Neither field is marked: the page knows no more than the relay says.
        assert page.locator("[aria-invalid]").count() == 0
        expect(page.locator("#results")).to_be_hidden()
    assert shown == [NOT_FOUND, NOT_FOUND]
    shoot(page, "lookup-not-found")
    assert_clean(page)


def test_a_deal_id_the_relay_refuses_is_marked_next_to_its_field_until_corrected(
    page: Page,
) -> None:
    answer = look_up(page, "A1", "X1")

    # The relay's own field error, not the browser's: the page has no pattern of its own.
    assert answer.status == 400
    assert [(e["pointer"], e["code"]) for e in answer.json()["errors"]] == [
        ("/match/deal_id", "format")
    ]
    deal = page.locator("#deal_id")
    error = page.locator("#deal_id-error")
    expect(error).to_be_visible()
    assert english(error) == "This is not in the expected format: see the example."
    expect(deal).to_have_attribute("aria-invalid", "true")
    expect(deal).to_have_attribute("aria-describedby", "deal_id-error deal_id-hint")
    expect(page.locator("#owner_id")).not_to_have_attribute("aria-invalid", "true")
    assert english(page.locator("#problem-title")) == "Please check what you entered."
    assert focused_id(page) == "problem"
    shoot(page, "lookup-field-error")

    # From the summary, Tab reaches the link and Enter lands in the field to correct.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#deal_id"
    page.keyboard.press("Enter")
    assert focused_id(page) == "deal_id"
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("D000001")
    with page.expect_response(lambda r: r.url.endswith(LOOKUP)) as corrected:
        page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_visible()

    assert corrected.value.status == 200
    expect(error).to_be_hidden()
    assert deal.get_attribute("aria-invalid") is None
    expect(deal).to_have_attribute("aria-describedby", "deal_id-hint")
    assert_clean(page)


def test_a_blank_deal_id_is_left_out_and_the_relay_says_it_is_required(page: Page) -> None:
    answer = look_up(page, "A1", "")

    # The browser's own `required` does not stop the request (novalidate): the relay decides.
    assert answer.request.post_data_json == {"match": {"owner_id": "A1"}}
    assert answer.status == 400
    assert [(e["pointer"], e["code"]) for e in answer.json()["errors"]] == [
        ("/match/deal_id", "required")
    ]
    assert english(page.locator("#deal_id-error")) == "This is required."
    expect(page.locator("#deal_id")).to_have_attribute("aria-invalid", "true")
    shoot(page, "lookup-required")
    assert_clean(page)


def test_while_kintone_is_in_maintenance_the_lookup_says_the_records_cannot_be_reached(
    page: Page, stack
) -> None:
    maintenance(stack, enabled=True)
    try:
        answer = look_up(page, "A1", "D000001")
    finally:
        maintenance(stack, enabled=False)

    assert (answer.status, answer.json()["code"]) == (503, "upstream_unavailable")
    assert english(page.locator("#problem")) == (
        "The deal records cannot be reached just now (for example, during maintenance). "
        "Please try again in a few minutes."
    )
    expect(page.locator("#results")).to_be_hidden()
    shoot(page, "lookup-unavailable")
    assert_clean(page)
