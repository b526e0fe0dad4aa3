"""What the browser sees of the pages' defences: the headers it is served, framing refused,
HTML from strings refused, and kintone records holding markup shown as plain text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import (
    add_deal,
    assert_clean,
    console,
    policy_violations,
    shoot,
)

LOOKUP = "/views/deal-status"


@pytest.mark.parametrize("path", ["/", "/form.html", "/signin.html", "/mine.html"])
def test_the_pages_arrive_with_a_strict_policy_and_no_referrer(page: Page, path: str) -> None:
    answer = page.goto(path)

    assert answer is not None
    assert answer.status == 200
    headers = answer.headers  # lower-cased names
    policy = headers["content-security-policy"]
    directives = {
        name: value for name, _, value in (d.strip().partition(" ") for d in policy.split(";"))
    }
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    # The page's own <meta> policy says the same, but for frame-ancestors (header only).
    meta = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert meta == policy.replace("; frame-ancestors 'none'", "")
    assert page.evaluate("document.querySelector('meta[name=referrer]').content") == ("no-referrer")
    assert_clean(page)


def test_a_page_framed_by_another_page_is_refused(page: Page, stack) -> None:
    # about:blank has no policy of its own: only the framed page's frame-ancestors refuses.
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        page.set_content(f'<iframe src="{stack.router_url}/form.html"></iframe>')

    (frame,) = [f for f in page.frames if f != page.main_frame]
    assert frame.locator("#apply").count() == 0
    assert any("frame-ancestors 'none'" in line["text"] for line in console(page))


def test_html_from_a_string_is_refused_by_the_page_itself(page: Page) -> None:
    page.goto("/")

    outcome = page.evaluate(
        """() => {
          try {
            document.createElement("div").innerHTML = "<img src=x>";
            return "assigned";
          } catch (error) {
            return error.name;
          }
        }"""
    )

    # Trusted Types with no policy: no sink takes a string, whoever calls it.
    assert outcome == "TypeError"
    assert any(
        v.get("directive") == "require-trusted-types-for"
        for v in policy_violations(page)
        if isinstance(v, dict) and "directive" in v
    )


# A deal of its own for each: (owner id, deal id, 取引名).
MARKUP = {
    "img": ("XSS1", "D900001", '<img src=x onerror="window.__xss=1">'),
    "script": ("XSS2", "D900002", "<script>window.__xss=1</script>"),
}


@pytest.mark.parametrize("kind", MARKUP)
def test_a_record_holding_markup_shows_as_text(page: Page, stack, kind: str) -> None:
    owner, deal, name = MARKUP[kind]
    add_deal(stack, 担当ID=owner, 取引ID=deal, 取引名=name, 金額="1", ステータス="商談中")
    page.goto("/")
    page.fill("#owner_id", owner)
    page.fill("#deal_id", deal)

    with page.expect_response(lambda r: r.url.endswith(LOOKUP)) as answer:
        page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_visible()

    assert answer.value.json() == {
        "records": [{"取引名": name, "金額": "1", "ステータス": "商談中"}]
    }
    cell = page.locator("#records tbody td").first
    assert cell.inner_text() == name
    assert cell.evaluate("td => td.childNodes.length === 1 && td.firstChild.nodeType") == 3
    assert page.locator("img").count() == 0
    # The page's own two scripts, and no other.
    assert page.locator("script").evaluate_all("s => s.map(e => e.getAttribute('src'))") == [
        "page.js",
        "lookup.js",
    ]
    assert page.evaluate("typeof window.__xss") == "undefined"
    shoot(page, f"lookup-markup-{kind}")
    # Not even an attempt was blocked: the page never handed the value to an HTML sink.
    assert_clean(page)
