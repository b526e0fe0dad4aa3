"""The seminar application page in chromium against the local stack: a recorded
application, the relay's field errors, a file refused by its content, an application
queued while kintone is in maintenance, and the progress of an upload."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import FilePayload, Page, Response, expect

from sekisho.intake.receipts import SHORT_PATTERN
from tests.browser.support import (
    application,
    assert_clean,
    english,
    focused_id,
    maintenance,
    shoot,
)

FORM = "/forms/seminar-apply"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def cv(data: bytes = PDF, name: str = "cv.pdf") -> FilePayload:
    return {"name": name, "mimeType": "application/pdf", "buffer": data}


def fill(
    page: Page,
    *,
    name: str = "山田 花子",
    email: str = "hanako@example.com",
    seats: str = "2",
    file: FilePayload | None = None,
) -> None:
    page.goto("/form.html")
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#seats", seats)
    if file is not None:
        page.set_input_files("#cv", files=[file])


def apply(page: Page) -> Response:
    with page.expect_response(lambda r: r.url.endswith(FORM)) as answer:
        page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#apply")).not_to_have_attribute("aria-busy", "true")
    return answer.value


def pointers(answer: Response) -> set[tuple[str, str]]:
    return {(e["pointer"], e["code"]) for e in answer.json()["errors"]}


def test_a_valid_application_with_a_pdf_is_recorded_and_shows_its_receipt(page: Page, stack):
    page.goto("/form.html")
    shoot(page, "form-empty")
    fill(page, file=cv())

    answer = apply(page)

    body: dict[str, Any] = answer.json()
    assert (answer.status, body["status"]) == (201, "recorded")
    expect(page.locator("#done")).to_be_visible()
    assert english(page.locator("#done-title")) == "Your application is recorded."
    receipt = page.locator("#receipt").inner_text()
    assert receipt == body["receipt"]
    assert re.fullmatch(SHORT_PATTERN, receipt)
    assert focused_id(page) == "done"
    # A new, empty form for the next application.
    expect(page.locator("#name")).to_have_value("")
    recorded = application(stack, receipt)
    assert recorded is not None
    assert recorded["氏名"]["value"] == "山田 花子"
    assert recorded["履歴書"]["value"][0]["name"] == "cv.pdf"
    shoot(page, "form-recorded")
    assert_clean(page)


def test_values_only_the_relay_refuses_are_marked_next_to_their_fields(page: Page) -> None:
    fill(page, email="hanako@example", seats="9")
    # The browser itself would take this address (and refuse 9 seats, were it asked).
    assert page.eval_on_selector("#email", "input => input.validity.valid") is True

    answer = apply(page)

    assert answer.status == 400
    assert pointers(answer) == {("/fields/email", "email"), ("/fields/seats", "range")}
    expected = {
        "email": "Enter an email address such as name@example.com.",
        "seats": "Enter a whole number from 1 to 5.",
    }
    for name, message in expected.items():
        field = page.locator(f"#{name}")
        expect(page.locator(f"#{name}-error")).to_be_visible()
        assert english(page.locator(f"#{name}-error")) == message
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", f"{name}-error {name}-hint")
    assert page.locator("#name").get_attribute("aria-invalid") is None
    assert page.locator("#problem a").evaluate_all("links => links.map(a => a.hash)") == [
        "#email",
        "#seats",
    ]
    assert focused_id(page) == "problem"
    # Nothing is lost: the answers stay for correcting.
    expect(page.locator("#email")).to_have_value("hanako@example")
    expect(page.locator("#done")).to_be_hidden()
    shoot(page, "form-field-errors")
    assert_clean(page)


def test_a_png_named_like_a_pdf_is_refused_by_its_content(page: Page) -> None:
    fill(page, file=cv(PNG, name="cv.pdf"))

    answer = apply(page)

    assert answer.status == 400
    assert pointers(answer) == {("/fields/cv", "file_type")}
    assert english(page.locator("#cv-error")) == (
        "This kind of file is not accepted: choose a PDF file."
    )
    expect(page.locator("#cv")).to_have_attribute("aria-invalid", "true")
    shoot(page, "form-file-refused")
    assert_clean(page)


def test_in_maintenance_the_application_is_queued_said_to_be_safe_and_recorded_later(
    page: Page, stack
) -> None:
    fill(page, name="鈴木 一郎", email="ichiro@example.com")
    maintenance(stack, enabled=True)
    try:
        answer = apply(page)
    finally:
        maintenance(stack, enabled=False)

    assert (answer.status, answer.json()["status"]) == (202, "queued")
    assert english(page.locator("#done-title")) == "Your application is safe with us."
    assert english(page.locator("#done-message")) == (
        "It will be recorded shortly; there is no need to send it again. "
        "Please keep your receipt number. Quote it when you contact us, in any case, with or "
        "without the hyphens."
    )
    receipt = page.locator("#receipt").inner_text()
    assert receipt == answer.json()["receipt"]
    shoot(page, "form-queued")
    assert_clean(page)

    while stack.pump_once("DeliverFunction").received:
        pass
    recorded = application(stack, receipt)
    assert recorded is not None
    assert recorded["氏名"]["value"] == "鈴木 一郎"


def test_a_file_upload_shows_its_progress_until_the_answer(page: Page) -> None:
    # ~200 kB of JSON at 150 kB/s: long enough to see the bar between empty and full.
    fill(page, name="佐藤 美咲", email="misaki@example.com", file=cv(PDF + b"0" * 150_000))
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 150_000},
    )

    with page.expect_response(lambda r: r.url.endswith(FORM)) as answer:
        page.get_by_role("button", name=re.compile("Apply")).click()
        page.wait_for_function(
            """() => {
              const value = Number(document.getElementById("progress").getAttribute("value"));
              return !document.getElementById("sending").hidden && value > 0 && value < 100;
            }"""
        )
        bar = page.get_by_role("progressbar", name=re.compile("Upload"))
        expect(bar).to_be_visible()
        expect(page.locator("#apply button")).to_be_disabled()
        expect(page.locator("#apply")).to_have_attribute("aria-busy", "true")
        assert english(page.locator("#status")) == "Sending your application…"
        assert re.fullmatch(r"\d{1,2}%", page.locator("#progress-text").inner_text())
        shoot(page, "form-uploading")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                 "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip

    assert answer.value.status == 201
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#sending")).to_be_hidden()
    expect(page.locator("#apply button")).to_be_enabled()
    assert_clean(page)
