"""The demo pages in web/: forms that POST JSON, CSP-friendly, with nothing external.

The page scripts run here under node against a small fake DOM built from the pages' own
HTML (fixtures/fake_dom.js), with scripted answers; tests/browser runs the same pages in
chromium against the local stack.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from devstack.static import CONTENT_SECURITY_POLICY

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
HARNESS = Path(__file__).parent / "fixtures" / "lookup_harness.js"
FORM_HARNESS = Path(__file__).parent / "fixtures" / "form_harness.js"
NODE = shutil.which("node")


@pytest.mark.parametrize(
    ("file", "forbidden"),
    [
        ("index.html", r"<script(?![^>]*\bsrc=)"),  # inline script
        ("index.html", r"\son[a-z]+\s*="),  # inline event handler
        ("index.html", r"\sstyle\s*="),  # inline style
        ("index.html", r"<style"),
        ("index.html", r"https?://"),  # anything external
        ("page.js", r"https?://"),
        ("page.js", r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
        ("page.js", r"\beval\b|new Function"),
        ("page.js", r"localStorage|sessionStorage|document\.cookie"),
        ("page.js", r"URLSearchParams|location\.(search|hash)"),
        ("lookup.js", r"https?://"),
        ("lookup.js", r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
        ("lookup.js", r"\beval\b|new Function"),
        ("lookup.js", r"URLSearchParams|[?&]owner_id=|\?match="),  # predicates in a URL
        ("form.html", r"<script(?![^>]*\bsrc=)"),
        ("form.html", r"\son[a-z]+\s*="),
        ("form.html", r"\sstyle\s*="),
        ("form.html", r"<style"),
        ("form.html", r"https?://"),
        ("form.js", r"https?://"),
        ("form.js", r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
        ("form.js", r"\beval\b|new Function"),
        ("form.js", r"localStorage|sessionStorage|document\.cookie"),  # answers stay in the page
        # The signed-in pages: the session is an HttpOnly cookie they never see or keep.
        ("signin.html", r"<script(?![^>]*\bsrc=)"),
        ("signin.html", r"\son[a-z]+\s*="),
        ("signin.html", r"\sstyle\s*="),
        ("signin.html", r"<style"),
        ("signin.html", r"https?://"),
        ("mine.html", r"<script(?![^>]*\bsrc=)"),
        ("mine.html", r"\son[a-z]+\s*="),
        ("mine.html", r"\sstyle\s*="),
        ("mine.html", r"<style"),
        ("mine.html", r"https?://"),
        ("signin.js", r"https?://"),
        ("signin.js", r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
        ("signin.js", r"\beval\b|new Function"),
        ("signin.js", r"localStorage|sessionStorage|document\.cookie"),
        ("mine.js", r"https?://"),
        ("mine.js", r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"),
        ("mine.js", r"\beval\b|new Function"),
        ("mine.js", r"localStorage|sessionStorage|document\.cookie"),
        ("style.css", r"url\(|@import"),  # nothing fetched from a stylesheet
    ],
)
def test_page_holds_nothing_a_strict_csp_or_a_careful_reviewer_would_refuse(
    file: str, forbidden: str
) -> None:
    assert re.search(forbidden, (WEB / file).read_text(encoding="utf-8")) is None


def test_form_posts_so_ids_stay_out_of_the_url_even_without_javascript() -> None:
    page = (WEB / "index.html").read_text(encoding="utf-8")

    form = re.search(r"<form[^>]*>", page)
    assert form is not None
    assert 'method="post"' in form.group(0)
    assert 'action="/views/deal-status"' in form.group(0)
    # The shared script first: defer runs them in document order.
    assert (
        '<script src="page.js" defer></script>\n  <script src="lookup.js" defer></script>' in page
    )


@pytest.mark.parametrize("file", ["index.html", "form.html", "signin.html", "mine.html"])
def test_the_meta_policy_is_the_served_policy_but_for_what_only_a_header_can_carry(
    file: str,
) -> None:
    page = (WEB / file).read_text(encoding="utf-8")

    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert meta is not None
    # frame-ancestors is ignored in a <meta> policy: only the header (static.py) holds it.
    served = CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "")
    assert meta.group(1) == served
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("file", ["index.html", "form.html"])
def test_every_field_has_a_label_in_japanese_and_english_and_a_place_for_its_error(
    file: str,
) -> None:
    page = (WEB / file).read_text(encoding="utf-8")

    assert '<html lang="ja">' in page
    # The relay checks the values; the page shows its answer, not the browser's bubbles.
    assert re.search(r"<form[^>]*\snovalidate[\s>]", page)
    inputs = re.findall(r'<input id="([^"]+)" name="\1"', page)
    assert inputs
    for name in inputs:
        if name == "website":  # the honeypot: no person ever fills it
            continue
        label = re.search(rf'<label for="{name}">(.*?)</label>', page, re.S)
        assert label is not None, name
        assert '<span lang="ja">' in label.group(1)
        assert '<span lang="en">' in label.group(1)
        assert f'<p id="{name}-error" class="field-error" hidden></p>' in page
    assert 'role="status" aria-live="polite"' in page
    assert re.search(r'<div id="problem" class="problem" tabindex="-1" hidden', page)


def run_harness(harness: Path, steps: list[dict[str, Any]]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(harness), str(WEB), json.dumps({"steps": steps})],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def run_page(answers: list[Any]) -> dict[str, Any]:
    return run_harness(HARNESS, [{"answer": answer} for answer in answers])


def test_lookup_posts_the_form_fields_as_json_match_in_the_body() -> None:
    result = run_page([{"status": 200, "body": {"records": []}}])

    (sent,) = result["requests"]
    assert sent["url"] == "/views/deal-status"
    assert sent["method"] == "POST"
    assert sent["headers"]["Content-Type"] == "application/json"
    # As typed: the relay matches exactly, so the page does not trim.
    assert json.loads(sent["body"]) == {"match": {"owner_id": "A1 ", "deal_id": "D000001"}}
    assert result["outcomes"][0]["prevented"] is True


def test_a_blank_field_is_left_out_so_the_relay_can_say_it_is_required() -> None:
    result = run_harness(
        HARNESS,
        [{"values": {"deal_id": ""}, "answer": {"status": 400, "body": {"errors": []}}}],
    )

    assert json.loads(result["requests"][0]["body"]) == {"match": {"owner_id": "A1 "}}


def test_records_are_rendered_as_text_never_as_markup() -> None:
    record = {"取引名": "<img src=x onerror=alert(1)>", "金額": "1200000", "タグ": ["a", "b"]}

    outcome = run_page([{"status": 200, "body": {"records": [record]}}])["outcomes"][0]

    assert outcome["resultsHidden"] is False
    # The view's declared columns, then any other field the relay sent.
    assert outcome["columns"] == ["取引名", "金額", "ステータス", "タグ"]
    assert outcome["rows"] == [["<img src=x onerror=alert(1)>", "1,200,000", "", "a, b"]]
    assert outcome["markup"] == 0
    assert outcome["status"]["en"] == "1 deal found."
    assert outcome["status"]["ja"] == "1 件の取引が見つかりました。"
    assert outcome["focus"] == "results-title"


NOT_FOUND = "No deal matched. Check the owner ID and the deal ID, then try again."


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ({"status": 404, "body": {"title": "Not found", "code": "not_found"}}, NOT_FOUND),
        ({"status": 200, "body": {"records": []}}, NOT_FOUND),
        ({"status": 429, "body": {"title": "Too many requests", "code": "rate_limited"}},
         "Too many requests in a short time. Please wait a while and try again."),
        ({"status": 429, "headers": {"Retry-After": "30"}, "body": {"code": "rate_limited"}},
         "Too many requests in a short time. Please try again in 30 seconds."),
        ({"status": 503, "body": {"code": "upstream_unavailable"}},
         "The deal records cannot be reached just now (for example, during maintenance). "
         "Please try again in a few minutes."),
        ({"status": 503, "body": {"code": "route_disabled"}},
         "This lookup is switched off for now. Please ask your contact person."),
        ({"status": 503, "body": "maintenance page"},
         "The deal records cannot be reached just now (for example, during maintenance). "
         "Please try again in a few minutes."),
        ({"status": 413, "body": {"code": "payload_too_large"}}, "What you sent is too large."),
        ({"status": 415, "body": {"code": "unsupported_media_type"}},
         "The request was not in a form the server accepts. Reload the page and try again."),
        ({"status": 403, "body": {"message": "Missing Authentication Token"}},
         "That did not work (HTTP 403). Please try again."),
        ("network-error",
         "The server could not be reached. Check your connection. Please try again."),
    ],
)  # fmt: skip
def test_failures_are_explained_in_the_summary_and_show_no_records(answer: Any, shown: str) -> None:
    outcome = run_page([{"status": 200, "body": {"records": [{"a": "1"}]}}, answer])["outcomes"][1]

    assert outcome["problem"]["title"]["en"] == shown
    assert outcome["problem"]["title"]["ja"]
    assert outcome["resultsHidden"] is True
    assert outcome["rows"] == []
    assert outcome["focus"] == "problem"
    assert outcome["buttonDisabled"] is False
    assert outcome["busy"] is False
    # A miss never says which value was wrong.
    assert not any(field["invalid"] for field in outcome["fields"].values())


def test_retry_after_as_an_http_date_says_when_to_try_again() -> None:
    later = formatdate(timeval=time.time() + 150, usegmt=True)
    answer = {"status": 429, "headers": {"Retry-After": later}, "body": {"code": "rate_limited"}}

    title = run_page([answer])["outcomes"][0]["problem"]["title"]

    assert re.fullmatch(
        r"Too many requests in a short time\. Please try again after \d\d:\d\d "
        r"\(in about 3 minutes\)\.",
        title["en"],
    )
    assert re.search(r"\d\d:\d\d 以降（約 3 分後）", title["ja"])


def test_a_lookup_field_error_is_shown_next_to_its_field_and_described_by_it() -> None:
    problem = {
        "code": "validation_failed",
        "errors": [
            {"pointer": "/match/deal_id", "code": "format", "detail": "not the format"},
            # RFC 6901: ~1 is "/", ~0 is "~"; no such field, so it goes to the summary.
            {"pointer": "/match/a~1b~0c", "code": "not_allowed", "detail": "no such value"},
        ],
    }

    outcome = run_harness(
        HARNESS, [{"values": {"deal_id": "X1"}, "answer": {"status": 400, "body": problem}}]
    )["outcomes"][0]

    assert outcome["fields"]["deal_id"] == {
        "invalid": True,
        "describedby": "deal_id-error deal_id-hint",
        "error": "This is not in the expected format: see the example.",
    }
    assert outcome["fields"]["owner_id"]["invalid"] is False
    assert outcome["problem"]["title"]["en"] == "Please check what you entered."
    assert outcome["problem"]["items"] == [
        "Deal ID: This is not in the expected format: see the example.",
        "“a/b~c” is not a field of this page.",
    ]
    assert outcome["problem"]["links"] == ["#deal_id"]
    assert outcome["focus"] == "problem"


def test_a_corrected_lookup_clears_the_previous_field_error() -> None:
    invalid = {"errors": [{"pointer": "/match/deal_id", "code": "format"}]}

    result = run_harness(
        HARNESS,
        [
            {"values": {"deal_id": "X1"}, "answer": {"status": 400, "body": invalid}},
            {
                "values": {"deal_id": "D000001"},
                "answer": {"status": 200, "body": {"records": [{}]}},
            },
        ],
    )

    after = result["outcomes"][1]
    assert after["fields"]["deal_id"] == {
        "invalid": False,
        "describedby": "deal_id-hint",
        "error": None,
    }
    assert after["problem"] is None


# -- the seminar application form ---------------------------------------------------------

PDF = {"name": "cv.pdf", "type": "application/pdf", "text": "%PDF-1.7 demo"}
FILLED = {"name": "山田 花子 ", "email": "hanako@example.com", "seats": "2"}
RECORDED = {"status": 201, "body": {"receipt": "S7K3-M9Q2-XRW", "status": "recorded"}}
QUEUED = {"status": 202, "body": {"receipt": "0D8E-9C1A-2BD", "status": "queued"}}
KEEP_RECEIPT = (
    "Please keep your receipt number. Quote it when you contact us, in any case, with or "
    "without the hyphens."
)
PRESS_APPLY = "Your answers are kept: press Apply to try again."


def run_form(*steps: dict[str, Any]) -> dict[str, Any]:
    return run_harness(FORM_HARNESS, list(steps))


def sent_fields(request: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(request["body"])
    assert list(body) == ["fields"]
    return body["fields"]


def test_index_links_the_form_page_and_the_form_page_loads_its_script() -> None:
    index = (WEB / "index.html").read_text(encoding="utf-8")
    page = (WEB / "form.html").read_text(encoding="utf-8")

    assert '<a href="form.html">' in index
    assert '<script src="page.js" defer></script>\n  <script src="form.js" defer></script>' in page
    form = re.search(r"<form[^>]*>", page)
    assert form is not None
    assert 'action="/forms/seminar-apply"' in form.group(0)
    assert 'data-form="seminar-apply"' in form.group(0)


def test_honeypot_is_out_of_sight_out_of_tab_order_and_never_autofilled() -> None:
    page = (WEB / "form.html").read_text(encoding="utf-8")
    css = (WEB / "style.css").read_text(encoding="utf-8")

    honeypot = re.search(r'<div class="honeypot" aria-hidden="true">(.*?)</div>', page, re.S)
    assert honeypot is not None
    field = re.search(r"<input[^>]*\bname=\"website\"[^>]*>", honeypot.group(1))
    assert field is not None
    assert 'tabindex="-1"' in field.group(0)
    assert 'autocomplete="off"' in field.group(0)
    rule = re.search(r"\.honeypot\s*\{([^}]*)\}", css)
    assert rule is not None
    # Off-screen, not display:none or hidden, which bots learn to skip.
    assert "left: -10000px" in rule.group(1)
    assert "display" not in rule.group(1)
    assert "hidden" not in field.group(0)


def test_application_posts_the_typed_fields_and_the_pdf_as_base64_json() -> None:
    result = run_form({"values": FILLED, "files": [PDF], "answer": RECORDED})

    (sent,) = result["requests"]
    assert sent["url"] == "/forms/seminar-apply"
    assert sent["method"] == "POST"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent_fields(sent) == {
        # As typed: the relay normalises and validates.
        "name": "山田 花子 ",
        "email": "hanako@example.com",
        "seats": 2,
        "cv": [
            {
                "filename": "cv.pdf",
                "content_type": "application/pdf",
                "data": base64.b64encode(b"%PDF-1.7 demo").decode(),
            }
        ],
    }
    assert result["outcomes"][0]["prevented"] is True


def test_empty_optional_fields_and_an_empty_honeypot_are_left_out() -> None:
    result = run_form({"values": {"name": "花子", "email": "h@example.com"}, "answer": RECORDED})

    assert sent_fields(result["requests"][0]) == {"name": "花子", "email": "h@example.com"}


def test_filled_honeypot_is_sent_so_the_relay_can_spot_the_bot() -> None:
    values = {**FILLED, "website": "http://spam.example"}

    result = run_form({"values": values, "answer": RECORDED})

    assert sent_fields(result["requests"][0])["website"] == "http://spam.example"


@pytest.mark.parametrize(
    ("answer", "title", "message"),
    [
        (RECORDED, "Your application is recorded.", KEEP_RECEIPT),
        (QUEUED, "Your application is safe with us.",
         f"It will be recorded shortly; there is no need to send it again. {KEEP_RECEIPT}"),
    ],
)  # fmt: skip
def test_accepted_application_shows_its_receipt_and_whether_it_is_recorded_or_queued(
    answer: dict[str, Any], title: str, message: str
) -> None:
    outcome = run_form({"values": FILLED, "answer": answer})["outcomes"][0]

    assert outcome["done"]["title"]["en"] == title
    assert outcome["done"]["message"]["en"] == message
    assert outcome["done"]["title"]["ja"]
    assert outcome["receipt"] == answer["body"]["receipt"]
    assert outcome["resets"] == 1
    assert outcome["focus"] == "done"
    assert outcome["problem"] is None
    assert outcome["buttonDisabled"] is False


def test_a_file_upload_shows_its_progress_and_the_button_waits_for_the_answer() -> None:
    uploading = {**RECORDED, "progress": [[1000, 4000], [4000, 4000]]}

    outcome = run_form({"values": FILLED, "files": [PDF], "answer": uploading})["outcomes"][0]

    assert [(p["hidden"], p["value"], p["text"]) for p in outcome["progress"]] == [
        (False, "25", "25%"),
        (False, "100", "100%"),
    ]
    assert all(p["buttonDisabled"] for p in outcome["progress"])
    assert outcome["sendingHidden"] is True
    assert outcome["buttonDisabled"] is False


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        ("network-error", "The server could not be reached. Check your connection."),
        ({"status": 503, "body": {"title": "The upstream service is unavailable"}},
         "Applications cannot be taken just now; nothing was recorded."),
        ({"status": 409, "body": {"title": "The same request is still in progress"}},
         "The previous attempt is still being processed."),
        ({"status": 429, "body": {"title": "Too many requests"}},
         "Too many requests in a short time. Please wait a while and try again."),
        ({"status": 502, "body": "<html>bad gateway</html>"}, "That did not work (HTTP 502)."),
    ],
)  # fmt: skip
def test_retry_after_a_lost_or_refused_attempt_reuses_the_idempotency_key(
    failure: Any, shown: str
) -> None:
    result = run_form(
        {"values": FILLED, "answer": failure},
        {"answer": RECORDED},
        {"values": FILLED, "answer": RECORDED},
    )

    keys = [request["headers"]["Idempotency-Key"] for request in result["requests"]]
    # The same application twice, then a new one after it was recorded.
    assert keys == ["key-1", "key-1", "key-2"]
    first = result["outcomes"][0]
    assert first["receipt"] is None
    assert first["problem"]["title"]["en"] == f"{shown} {PRESS_APPLY}"
    assert first["resets"] == 0
    assert first["focus"] == "problem"


def test_applications_switched_off_say_so_without_asking_to_press_apply_again() -> None:
    closed = {"status": 503, "body": {"code": "route_disabled"}}

    outcome = run_form({"values": FILLED, "answer": closed})["outcomes"][0]

    assert outcome["problem"]["title"]["en"] == (
        "Applications are closed for now. Please try again later."
    )


def test_a_key_reused_with_other_answers_starts_a_new_application_on_the_next_press() -> None:
    reused = {"status": 422, "body": {"code": "idempotency_key_reused"}}

    result = run_form(
        {"values": FILLED, "answer": reused},
        {"answer": RECORDED},
    )

    keys = [request["headers"]["Idempotency-Key"] for request in result["requests"]]
    assert keys == ["key-1", "key-2"]
    assert "new application" in result["outcomes"][0]["problem"]["title"]["en"]


def test_field_errors_are_shown_next_to_their_fields_as_text_and_the_rest_in_the_summary() -> None:
    problem = {
        "title": "The submission is invalid",
        "code": "validation_failed",
        "errors": [
            {"pointer": "/fields/email", "code": "email", "detail": "not an email"},
            {"pointer": "/fields/seats", "code": "range", "detail": "must be between 1 and 5"},
            {"pointer": "/fields/cv/0/data", "code": "file_type", "detail": "not a PDF"},
            {"pointer": "/fields/fax", "code": "unknown", "detail": "no such field"},
            # A code the page has no words for: the relay's detail, as text.
            {"pointer": "/fields/name", "code": "novel", "detail": "<b>not</b> a name"},
        ],
    }

    outcome = run_form({"values": FILLED, "answer": {"status": 400, "body": problem}})["outcomes"][
        0
    ]

    assert outcome["problem"]["title"]["en"] == "Please check what you entered."
    assert outcome["problem"]["items"] == [
        "Email: Enter an email address such as name@example.com.",
        "Seats: Enter a whole number from 1 to 5.",
        "CV: This kind of file is not accepted: choose a PDF file.",
        "“fax” is not a field of this page.",
        "Name: <b>not</b> a name",
    ]
    assert outcome["problem"]["links"] == ["#email", "#seats", "#cv", "#name"]
    assert outcome["invalid"] == ["name", "email", "seats", "cv"]
    assert outcome["fields"]["seats"] == {
        "invalid": True,
        "describedby": "seats-error seats-hint",
        "error": "Enter a whole number from 1 to 5.",
    }
    # A field without a hint is described by its error alone.
    assert outcome["fields"]["name"]["describedby"] == "name-error"
    assert outcome["receipt"] is None
    assert outcome["resets"] == 0
    assert outcome["focus"] == "problem"


def test_corrected_resubmission_clears_the_previous_errors() -> None:
    problem = {"title": "Invalid", "errors": [{"pointer": "/fields/email", "code": "email"}]}

    result = run_form(
        {"values": FILLED, "answer": {"status": 400, "body": problem}},
        {"values": {"email": "h@example.com"}, "answer": RECORDED},
    )

    assert result["outcomes"][0]["invalid"] == ["email"]
    assert result["outcomes"][1]["problem"] is None
    assert result["outcomes"][1]["invalid"] == []
    assert result["outcomes"][1]["fields"]["email"]["describedby"] == "email-hint"


def test_file_over_the_pages_limit_is_not_uploaded() -> None:
    big = {**PDF, "size": 2097153}

    result = run_form({"values": FILLED, "files": [big], "answer": RECORDED})

    outcome = result["outcomes"][0]
    assert result["requests"] == []
    assert outcome["invalid"] == ["cv"]
    assert outcome["fields"]["cv"]["error"] == "The file is larger than 2 MB."
    assert outcome["focus"] == "problem"


def test_file_that_cannot_be_read_is_reported_and_nothing_is_sent() -> None:
    result = run_form(
        {"values": FILLED, "files": [{**PDF, "unreadable": True}], "answer": RECORDED}
    )

    outcome = result["outcomes"][0]
    assert result["requests"] == []
    assert outcome["problem"]["title"]["en"] == (
        "A file could not be read. Choose it again and press Apply."
    )
    assert outcome["buttonDisabled"] is False
