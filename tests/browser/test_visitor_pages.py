"""The signed-in visitor's pages in chromium against the local stack: apply, ask for a code,
read it from the mail the stack sent, sign in, see the application, change it with its
revision, cancel it, sign out; download the file sent with an application; and what the
pages say for a wrong code, for an application changed elsewhere, for one locked or a
session gone mid-edit, for a file no longer available, and over pages of the list."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import (
    BrowserContext,
    FilePayload,
    Locator,
    Page,
    Request,
    Response,
    Route,
    expect,
)

from devstack.mailbox import messages_to, sent_messages, wait_for_code
from devstack.stack import RunningStack
from tests.browser.support import (
    application,
    assert_clean,
    english,
    focused_id,
    japanese,
    shoot,
)

CODE = "/sessions/applicants/code"
SESSION = "/sessions/applicants"
VIEW = "/views/my-applications"
ENTRIES = "/forms/seminar-apply/entries/"
FILES = VIEW + "/files/"
COOKIE = "__Host-sekisho"
COLUMNS = "Receipt Name Seats Payment Status CV Actions"
# A small valid PDF of its own (the relay checks a file's bytes against its type).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n% sekisho visitor test\n%%EOF\n"
FILE_GONE = "The file is no longer available: reload the list."
CHANGED_ELSEWHERE = "This application was changed elsewhere. Reload the list, then try again."
SIGN_IN_FAILED = (
    "Signing in did not work: the code is wrong or has expired. "
    "Check the code, or ask for a new one."
)


def address(tag: str) -> str:
    """An address of the test's own: the stack's records and mail outlive a test."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def apply(
    page: Page, *, name: str, email: str, seats: str = "2", file: FilePayload | None = None
) -> str:
    """Applies through form.html as a visitor does; the receipt the page shows."""
    page.goto("/form.html")
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#seats", seats)
    if file is not None:
        page.set_input_files("#cv", files=[file])
    page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#done")).to_be_visible()
    return page.locator("#receipt").inner_text()


def ask_for_code(page: Page, email: str) -> Response:
    page.goto("/signin.html")
    page.fill("#email", email)
    with page.expect_response(lambda r: r.url.endswith(CODE)) as answer:
        page.get_by_role("button", name=re.compile("Send me a code")).click()
    expect(page.locator("#request")).not_to_have_attribute("aria-busy", "true")
    return answer.value


def mail_count(stack: RunningStack, email: str) -> int:
    return len(messages_to(sent_messages(stack.moto_url), email))


def enter_code(page: Page, code: str) -> Response:
    page.fill("#code", code)
    with page.expect_response(lambda r: r.url.endswith(SESSION)) as answer:
        page.get_by_role("button", name=re.compile("Sign in$")).click()
    return answer.value


def sign_in(page: Page, stack: RunningStack, email: str) -> Response:
    """Signs in through signin.html with the code from the stack's mail; waits for the list."""
    before = mail_count(stack, email)
    assert ask_for_code(page, email).status == 202
    code = wait_for_code(stack.moto_url, email, after=before)
    with page.expect_response(lambda r: r.url.endswith(VIEW)) as listed:
        assert enter_code(page, code).status == 201
        page.wait_for_url("**/mine.html")
    expect(page.locator("#list")).to_be_visible()
    return listed.value


def row_of(page: Page, receipt: str) -> Locator:
    """The <tbody> of one application: its row, its edit form and its cancel question."""
    return page.locator("#applications tbody.application").filter(
        has=page.locator("th", has_text=receipt)
    )


def cells(group: Locator) -> list[str]:
    return group.locator(
        "tr.record > th, tr.record > td:not(.actions):not(.files)"
    ).all_inner_texts()


def listed(answer: Response, receipt: str) -> dict[str, Any]:
    (record,) = [r for r in answer.json()["records"] if r["受付ID"] == receipt]
    return record


def entry_answer(page: Page, receipt: str, action: str) -> Response:
    """Presses Save (action "edit") or Yes, cancel it ("cancel") in the application's rows."""
    group = row_of(page, receipt)
    with page.expect_response(lambda r: ENTRIES in r.url) as answer:
        if action == "edit":
            group.get_by_role("button", name=re.compile("Save")).click()
        else:
            group.get_by_role("button", name=re.compile("Yes, cancel it")).click()
    expect(group.locator("form")).not_to_have_attribute("aria-busy", "true")
    return answer.value


def session_cookies(context: BrowserContext) -> list[dict[str, Any]]:
    return [c for c in context.cookies() if c["name"] == COOKIE]


# -- the whole visit -------------------------------------------------------------------------


def test_a_visitor_signs_in_with_a_mailed_code_changes_and_cancels_the_application_and_signs_out(
    page: Page, context: BrowserContext, stack: RunningStack
) -> None:
    email = address("yoko")
    receipt = apply(page, name="田中 陽子", email=email)

    # Step 1: the address. The same answer whether or not it is known.
    page.goto("/signin.html")
    shoot(page, "signin-empty")
    before = mail_count(stack, email)
    asked = ask_for_code(page, email)
    assert asked.status == 202
    assert asked.json() == {"status": "code_requested", "expires_in": 600}
    assert asked.request.post_data_json == {"email": email}
    expect(page.locator("#verify")).to_be_visible()
    expect(page.locator("#request")).to_be_hidden()
    assert english(page.locator("#sent-message")) == (
        f"If {email} has an application, a code is on its way there. It is valid for 10 minutes."
    )
    assert focused_id(page) == "code"
    shoot(page, "signin-code-sent")

    # Step 2: the code from the mail the stack sent; the relay sets the cookie.
    code = wait_for_code(stack.moto_url, email, after=before)
    with page.expect_response(lambda r: r.url.endswith(VIEW)) as first_list:
        signed_in = enter_code(page, code)
        page.wait_for_url("**/mine.html")
    assert signed_in.status == 201
    assert signed_in.request.post_data_json == {"email": email, "code": code}
    (cookie,) = session_cookies(context)
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    # The page holds nothing of the session: the cookie is out of its reach, and nothing
    # was put in storage.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    # The list: the visitor's own application, as the view projects it.
    view = first_list.value
    assert view.status == 200
    assert view.request.post_data_json == {}
    record = listed(view, receipt)
    expect(page.locator("#list")).to_be_visible()
    assert english(page.locator("#applications thead")) == COLUMNS
    group = row_of(page, receipt)
    assert cells(group) == [receipt, "田中 陽子", "2", "未払い", "申込"]
    # Applied without a file: nothing to download.
    assert record["履歴書"] == []
    assert english(group.locator("td.files")) == "None"
    assert group.locator("td.files button").count() == 0
    assert all(r["受付ID"] == receipt for r in view.json()["records"])
    assert english(page.locator("#status")) == "Showing 1 application."
    shoot(page, "mine-list")
    assert_clean(page)

    # Change the seats: only what changed is sent, against the revision the list gave.
    group.get_by_role("button", name=re.compile("Edit")).click()
    expect(group.locator("tr.edit")).to_be_visible()
    expect(group.get_by_label(re.compile("Name"))).to_have_value("田中 陽子")
    group.get_by_label(re.compile("Seats")).fill("3")
    shoot(page, "mine-editing")
    saved = entry_answer(page, receipt, "edit")
    assert saved.request.method == "PATCH"
    assert saved.request.url.endswith(ENTRIES + record["ref"])
    assert saved.request.headers["if-match"] == record["revision"]
    assert saved.request.post_data_json == {"fields": {"seats": 3}}
    assert saved.status == 200
    revision = saved.json()["revision"]
    assert revision != record["revision"]
    expect(group.locator("tr.edit")).to_be_hidden()
    assert cells(group) == [receipt, "田中 陽子", "3", "未払い", "申込"]
    assert english(page.locator("#status")) == "Your changes are saved."
    stored = application(stack, receipt)
    assert stored is not None
    assert stored["人数"]["value"] == "3"
    shoot(page, "mine-saved")

    # A second change goes with the revision the first one answered.
    group.get_by_role("button", name=re.compile("Edit")).click()
    group.get_by_label(re.compile("Name")).fill("田中 陽子（変更）")
    renamed = entry_answer(page, receipt, "edit")
    assert renamed.request.headers["if-match"] == revision
    assert renamed.request.post_data_json == {"fields": {"name": "田中 陽子（変更）"}}
    assert renamed.status == 200
    revision = renamed.json()["revision"]
    assert cells(group)[1] == "田中 陽子（変更）"

    # Cancel: the page asks first, and keeping it sends nothing.
    cancels: list[Request] = []
    page.on("request", lambda r: cancels.append(r) if r.url.endswith("/cancel") else None)
    group.get_by_role("button", name=re.compile("^取り消し Cancel$")).click()
    question = group.locator("tr.confirm .question")
    expect(question).to_be_visible()
    assert english(question) == f"Cancel application {receipt}? This cannot be undone."
    group.get_by_role("button", name=re.compile("No, keep it")).click()
    expect(group.locator("tr.confirm")).to_be_hidden()
    assert cancels == []
    group.get_by_role("button", name=re.compile("^取り消し Cancel$")).click()
    shoot(page, "mine-cancel-question")
    cancelled = entry_answer(page, receipt, "cancel")
    assert cancelled.request.method == "POST"
    assert cancelled.request.url.endswith(ENTRIES + record["ref"] + "/cancel")
    assert cancelled.request.headers["if-match"] == revision
    assert cancelled.request.post_data_json == {}
    assert cancelled.status == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cells(group) == [receipt, "田中 陽子（変更）", "3", "未払い", "キャンセル"]
    # Nothing more to offer for a cancelled application.
    assert group.locator("tr.record button").count() == 0
    assert english(group.locator(".actions")) == "Cancelled"
    assert english(page.locator("#status")) == "The application is cancelled."
    stored = application(stack, receipt)
    assert stored is not None
    assert stored["申込状況"]["value"] == "キャンセル"
    shoot(page, "mine-cancelled")
    assert_clean(page)

    # Sign out: the session ends and the page goes back to signing in.
    with page.expect_response(lambda r: r.url.endswith(SESSION)) as ended:
        page.get_by_role("button", name=re.compile("Sign out")).click()
        page.wait_for_url("**/signin.html")
    assert (ended.value.request.method, ended.value.status) == ("DELETE", 204)
    assert session_cookies(context) == []
    shoot(page, "signin-signed-out")

    # The list now asks to sign in, and shows nothing.
    with page.expect_response(lambda r: r.url.endswith(VIEW)) as refused:
        page.goto("/mine.html")
    assert (refused.value.status, refused.value.json()["code"]) == (401, "session_required")
    expect(page.locator("#signed-out")).to_be_visible()
    assert english(page.locator("#signed-out-title")) == "Please sign in to see your applications."
    assert japanese(page.locator("#signed-out-title")) == (
        "お申し込みを確認するには、ログインしてください。"
    )
    expect(page.locator("#sign-in")).to_have_attribute("href", "signin.html")
    expect(page.locator("#list")).to_be_hidden()
    assert focused_id(page) == "signed-out"
    shoot(page, "mine-signed-out")
    assert_clean(page)


def test_the_lookup_page_links_to_signing_in(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile("sign in")).click()
    page.wait_for_url("**/signin.html")
    expect(page.locator("#email")).to_be_visible()
    assert_clean(page)


# -- signing in ------------------------------------------------------------------------------


def test_a_wrong_code_shows_sign_in_failed_and_the_right_one_still_signs_in(
    page: Page, stack: RunningStack
) -> None:
    email = address("jiro")
    apply(page, name="木村 次郎", email=email, seats="1")
    before = mail_count(stack, email)
    assert ask_for_code(page, email).status == 202
    code = wait_for_code(stack.moto_url, email, after=before)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answer = enter_code(page, wrong)

    assert (answer.status, answer.json()["code"]) == (401, "sign_in_failed")
    expect(page.locator("#problem")).to_be_visible()
    assert english(page.locator("#problem-title")) == SIGN_IN_FAILED
    assert japanese(page.locator("#problem-title")).startswith("ログインできませんでした。")
    assert focused_id(page) == "problem"
    # Still on step 2, the code kept for correcting.
    expect(page.locator("#verify")).to_be_visible()
    expect(page.locator("#code")).to_have_value(wrong)
    assert page.url.endswith("/signin.html")
    shoot(page, "signin-wrong-code")
    assert_clean(page)

    with page.expect_response(lambda r: r.url.endswith(VIEW)):
        assert enter_code(page, code).status == 201
        page.wait_for_url("**/mine.html")
    expect(page.locator("#list")).to_be_visible()


def test_a_malformed_address_is_marked_next_to_its_field(page: Page) -> None:
    # Two addresses in one: the relay refuses it (a header injection, were it mailed).
    answer = ask_for_code(page, "hanako@example.com, taro@example.com")

    assert (answer.status, answer.json()["code"]) == (400, "validation_failed")
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    assert english(page.locator("#problem-title")) == "Please check what you entered."
    assert page.locator("#problem a").evaluate_all("links => links.map(a => a.hash)") == ["#email"]
    expect(page.locator("#verify")).to_be_hidden()
    shoot(page, "signin-bad-address")
    assert_clean(page)


def fulfil(status: int, body: Any, headers: dict[str, str] | None = None):
    def answer(route: Route) -> None:
        route.fulfill(
            status=status,
            headers={"Content-Type": "application/problem+json", **(headers or {})},
            body=json.dumps(body),
        )

    return answer


def test_too_many_code_requests_say_when_to_try_again(page: Page) -> None:
    page.route(
        f"**{CODE}",
        fulfil(429, {"code": "rate_limited", "status": 429}, {"Retry-After": "30"}),
    )

    ask_for_code(page, address("busy"))

    assert english(page.locator("#problem-title")) == (
        "Too many requests in a short time. Please try again in 30 seconds."
    )
    expect(page.locator("#request")).to_be_visible()
    assert_clean(page)


# -- changed elsewhere -----------------------------------------------------------------------


def test_an_application_changed_in_another_tab_asks_for_a_reload_and_then_saves(
    page: Page, context: BrowserContext, stack: RunningStack
) -> None:
    email = address("mika")
    receipt = apply(page, name="小林 美香", email=email)
    sign_in(page, stack, email)
    # The same visitor in a second tab (the same cookie) changes the seats first.
    other = context.new_page()
    other.goto("/mine.html")
    row_of(other, receipt).get_by_role("button", name=re.compile("Edit")).click()
    row_of(other, receipt).get_by_label(re.compile("Seats")).fill("4")
    assert entry_answer(other, receipt, "edit").status == 200
    other.close()

    group = row_of(page, receipt)
    group.get_by_role("button", name=re.compile("Edit")).click()
    group.get_by_label(re.compile("Name")).fill("小林 美香（旧）")
    stale = entry_answer(page, receipt, "edit")

    assert (stale.status, stale.json()["code"]) == (412, "revision_mismatch")
    assert english(page.locator("#problem-title")) == CHANGED_ELSEWHERE
    assert focused_id(page) == "problem"
    reload = page.get_by_role("button", name=re.compile("Reload the list"))
    expect(reload).to_be_visible()
    # Nothing was written over the other tab's change.
    stored = application(stack, receipt)
    assert stored is not None
    assert (stored["氏名"]["value"], stored["人数"]["value"]) == ("小林 美香", "4")
    shoot(page, "mine-changed-elsewhere")
    assert_clean(page)

    with page.expect_response(lambda r: r.url.endswith(VIEW)) as fresh:
        reload.click()
    expect(page.locator("#problem")).to_be_hidden()
    assert cells(row_of(page, receipt))[2] == "4"
    group = row_of(page, receipt)
    group.get_by_role("button", name=re.compile("Edit")).click()
    group.get_by_label(re.compile("Name")).fill("小林 美香（新）")
    saved = entry_answer(page, receipt, "edit")
    assert saved.request.headers["if-match"] == listed(fresh.value, receipt)["revision"]
    assert saved.status == 200
    assert_clean(page)


# -- the files sent with an application ------------------------------------------------------


def test_the_file_sent_with_an_application_is_listed_and_downloads_as_it_was_sent(
    page: Page, stack: RunningStack
) -> None:
    email = address("emi")
    sent = {"name": "履歴書 emi.pdf", "mimeType": "application/pdf", "buffer": PDF}
    receipt = apply(page, name="松本 恵美", email=email, file=sent)

    view = sign_in(page, stack, email)

    (listed_file,) = listed(view, receipt)["履歴書"]
    assert (listed_file["name"], listed_file["size"]) == ("履歴書 emi.pdf", len(PDF))
    assert listed_file["href"].startswith("my-applications/files/")
    files = row_of(page, receipt).locator("td.files")
    assert files.locator(".file-name").all_inner_texts() == ["履歴書 emi.pdf"]
    assert english(files.locator(".file-size")) == f"{len(PDF)} bytes"
    assert japanese(files.locator(".file-size")) == f"{len(PDF)} バイト"
    shoot(page, "mine-with-file")

    get = files.get_by_role("button", name=re.compile("Download"))
    with (
        page.expect_request(lambda r: FILES in r.url) as fetched,
        page.expect_download() as saving,
    ):
        get.click()

    # The link as listed, relative to the view's URL, fetched with the session cookie and
    # a binary type first in Accept (API Gateway's cue to pass the bytes as they are).
    request = fetched.value
    assert request.url == f"{stack.router_url}/views/{listed_file['href']}"
    assert request.headers["accept"] == "application/octet-stream"
    answer = request.response()
    assert answer is not None
    assert answer.status == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    saved = saving.value
    assert saved.suggested_filename == "履歴書 emi.pdf"
    assert saved.failure() is None
    with open(saved.path(), "rb") as downloaded:
        assert downloaded.read() == PDF
    assert english(page.locator("#status")) == "Downloaded 履歴書 emi.pdf."
    expect(page.locator("#problem")).to_be_hidden()
    # The object URL's link was only for the click.
    assert page.locator("a[download]").count() == 0
    shoot(page, "mine-file-downloaded")
    # A download from an object URL is not something the page's CSP refuses.
    assert_clean(page)


# -- the page's own answers, with the relay's answers scripted ------------------------------


def one_record(n: int, **values: Any) -> dict[str, Any]:
    return {
        "ref": f"ref-{n}",
        "revision": "1",
        "受付ID": f"00000000-0000-4000-8000-{n:012d}",
        "氏名": f"申込者 {n}",
        "人数": "1",
        "支払状況": "未払い",
        "申込状況": "申込",
        **values,
    }


def test_more_applications_are_fetched_with_the_cursor_until_there_are_no_more(
    page: Page,
) -> None:
    sent: list[Any] = []

    def pages(route: Route, request: Request) -> None:
        body = request.post_data_json
        sent.append(body)
        if body == {}:
            route.fulfill(json={"records": [one_record(n) for n in range(1, 6)], "next": "c-2"})
        else:
            route.fulfill(json={"records": [one_record(6)], "next": None})

    page.route(f"**{VIEW}", pages)
    page.goto("/mine.html")
    expect(page.locator("#applications tbody.application")).to_have_count(5)
    more = page.get_by_role("button", name=re.compile("Show more"))
    expect(more).to_be_visible()

    more.click()

    expect(page.locator("#applications tbody.application")).to_have_count(6)
    assert sent == [{}, {"cursor": "c-2"}]
    expect(more).to_be_hidden()
    assert english(page.locator("#status")) == "Showing 6 applications."
    # The first of the new ones takes the focus, where reading goes on.
    assert page.evaluate("document.activeElement.textContent") == one_record(6)["受付ID"]
    assert_clean(page)


def test_paid_and_cancelled_applications_offer_no_change(page: Page) -> None:
    records = [
        one_record(1, 支払状況="支払済"),
        one_record(2, 申込状況="キャンセル"),
        one_record(3),
    ]
    page.route(f"**{VIEW}", lambda route: route.fulfill(json={"records": records, "next": None}))
    page.goto("/mine.html")

    actions = page.locator("#applications tr.record .actions")
    expect(actions).to_have_count(3)
    assert [english(actions.nth(i)) for i in range(3)] == [
        "Paid: cannot be changed",
        "Cancelled",
        "Edit Cancel",
    ]
    shoot(page, "mine-locked-rows")
    assert_clean(page)


ENTRY_FAILURES = {
    "locked": (
        409,
        "entry_locked",
        "This application can no longer be changed: it is paid for or cancelled.",
    ),
    "gone": (404, "not_found", "This application could not be found. Please reload the list."),
}


@pytest.mark.parametrize("case", ENTRY_FAILURES)
def test_an_edit_the_relay_refuses_is_explained_with_a_way_to_reload(page: Page, case: str) -> None:
    status, code, shown = ENTRY_FAILURES[case]
    record = one_record(1)
    page.route(f"**{VIEW}", lambda route: route.fulfill(json={"records": [record], "next": None}))
    page.route(f"**{ENTRIES}**", fulfil(status, {"code": code, "status": status}))
    page.goto("/mine.html")
    group = row_of(page, record["受付ID"])
    group.get_by_role("button", name=re.compile("Edit")).click()
    group.get_by_label(re.compile("Seats")).fill("2")

    answer = entry_answer(page, record["受付ID"], "edit")

    assert answer.request.headers["if-match"] == "1"
    assert english(page.locator("#problem-title")) == shown
    expect(page.get_by_role("button", name=re.compile("Reload the list"))).to_be_visible()
    # The row shows what the relay holds, not what was typed.
    assert cells(group)[2] == "1"
    shoot(page, f"mine-edit-{case}")
    assert_clean(page)


def test_a_session_that_ended_mid_edit_leads_back_to_signing_in(page: Page) -> None:
    record = one_record(1)
    page.route(f"**{VIEW}", lambda route: route.fulfill(json={"records": [record], "next": None}))
    page.route(f"**{ENTRIES}**", fulfil(401, {"code": "session_invalid", "status": 401}))
    page.goto("/mine.html")
    group = row_of(page, record["受付ID"])
    group.get_by_role("button", name=re.compile("Edit")).click()
    group.get_by_label(re.compile("Seats")).fill("2")

    entry_answer(page, record["受付ID"], "edit")

    expect(page.locator("#signed-out")).to_be_visible()
    assert english(page.locator("#signed-out-title")) == (
        "Your sign-in has expired or ended. Please sign in again."
    )
    expect(page.locator("#list")).to_be_hidden()
    page.locator("#sign-in").click()
    page.wait_for_url("**/signin.html")
    assert_clean(page)


def with_file(href: str) -> dict[str, Any]:
    return one_record(1, 履歴書=[{"name": "cv.pdf", "size": 1016, "href": href}])


FILE_FAILURES = {
    "gone": (404, "not_found", FILE_GONE),
    "too-large": (413, "file_too_large", "This file is too large to download from this page."),
}


@pytest.mark.parametrize("case", FILE_FAILURES)
def test_a_file_the_relay_refuses_is_explained_and_nothing_is_saved(page: Page, case: str) -> None:
    status, code, shown = FILE_FAILURES[case]
    record = with_file("my-applications/files/t-1")
    page.route(f"**{VIEW}", lambda route: route.fulfill(json={"records": [record], "next": None}))
    page.route(f"**{FILES}**", fulfil(status, {"code": code, "status": status}))
    downloads: list[Any] = []

    def saved(download: Any) -> None:
        # A function of our own: Playwright tags its handler, which a list's bound
        # append (a builtin) cannot carry.
        downloads.append(download)

    page.on("download", saved)
    page.goto("/mine.html")
    files = row_of(page, record["受付ID"]).locator("td.files")
    assert english(files.locator(".file-size")) == "1016 bytes"

    with page.expect_response(lambda r: FILES in r.url) as answer:
        files.get_by_role("button", name=re.compile("Download")).click()
    expect(page.locator("#problem")).to_be_visible()

    assert answer.value.url.endswith("/views/my-applications/files/t-1")
    assert english(page.locator("#problem-title")) == shown
    assert focused_id(page) == "problem"
    reload = page.get_by_role("button", name=re.compile("Reload the list"))
    if status == 404:
        # A link lives five minutes: loading the list again gives fresh ones.
        expect(reload).to_be_visible()
    else:
        expect(reload).to_be_hidden()
    assert downloads == []
    expect(files.get_by_role("button", name=re.compile("Download"))).to_be_enabled()
    shoot(page, f"mine-file-{case}")
    assert_clean(page)


def test_a_file_link_to_another_place_is_not_followed(page: Page) -> None:
    record = with_file("//files.example.net/views/my-applications/files/t-1")
    page.route(f"**{VIEW}", lambda route: route.fulfill(json={"records": [record], "next": None}))
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "files" in r.url else None)
    page.goto("/mine.html")

    row_of(page, record["受付ID"]).get_by_role("button", name=re.compile("Download")).click()

    expect(page.locator("#problem")).to_be_visible()
    assert english(page.locator("#problem-title")) == FILE_GONE
    assert asked == []
    assert_clean(page)
