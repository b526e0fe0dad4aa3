"""The demo pages in web/: forms that POST JSON, CSP-friendly, with nothing external."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

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
    assert '<script src="lookup.js" defer></script>' in page


def run_page(answers: list[Any]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(HARNESS), str(WEB / "lookup.js"), json.dumps(answers)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_lookup_posts_the_form_fields_as_json_match_in_the_body() -> None:
    result = run_page([{"status": 200, "body": {"records": []}}])

    (sent,) = result["requests"]
    assert sent["url"] == "/views/deal-status"
    assert sent["method"] == "POST"
    assert sent["headers"]["Content-Type"] == "application/json"
    # As typed: the relay matches exactly, so the page does not trim.
    assert json.loads(sent["body"]) == {"match": {"owner_id": "A1 ", "deal_id": "D000001"}}
    assert result["outcomes"][0]["prevented"] is True


def test_records_are_rendered_as_text_never_as_markup() -> None:
    record = {"取引名": "<img src=x onerror=alert(1)>", "金額": "1200000", "タグ": ["a", "b"]}

    outcome = run_page([{"status": 200, "body": {"records": [record]}}])["outcomes"][0]

    assert outcome["tableHidden"] is False
    assert outcome["columns"] == ["取引名", "金額", "タグ"]
    assert outcome["rows"] == [["<img src=x onerror=alert(1)>", "1200000", "a, b"]]
    assert outcome["status"] == "1 record."


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ({"status": 404, "body": {"title": "Not found", "code": "not_found"}}, "Not found"),
        ({"status": 429, "body": {"title": "Too many requests"}}, "Too many requests"),
        ({"status": 403, "body": {"message": "Missing Authentication Token"}},
         "Missing Authentication Token"),
        ({"status": 503, "body": "maintenance page"}, "The lookup failed (HTTP 503)."),
        ({"status": 200, "body": {"records": []}}, "No matching records."),
        ("network-error", "The relay could not be reached."),
    ],
)  # fmt: skip
def test_failures_show_the_problem_title_and_no_records(answer: Any, shown: str) -> None:
    outcome = run_page([{"status": 200, "body": {"records": [{"a": "1"}]}}, answer])["outcomes"][1]

    assert outcome["status"] == shown
    assert outcome["tableHidden"] is True
    assert outcome["rows"] == []
    assert outcome["buttonDisabled"] is False


# -- the seminar application form ---------------------------------------------------------

PDF = {"name": "cv.pdf", "type": "application/pdf", "text": "%PDF-1.7 demo"}
FILLED = {"name": "山田 花子 ", "email": "hanako@example.com", "seats": "2"}
RECORDED = {"status": 201, "body": {"receipt": "0b6f7c1e-receipt", "status": "recorded"}}
QUEUED = {"status": 202, "body": {"receipt": "5d2a9e40-receipt", "status": "queued"}}


def run_form(*steps: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(FORM_HARNESS), str(WEB / "form.js"), json.dumps({"steps": list(steps)})],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def sent_fields(request: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(request["body"])
    assert list(body) == ["fields"]
    return body["fields"]


def test_index_links_the_form_page_and_the_form_page_loads_its_script() -> None:
    index = (WEB / "index.html").read_text(encoding="utf-8")
    page = (WEB / "form.html").read_text(encoding="utf-8")

    assert '<a href="form.html">' in index
    assert '<script src="form.js" defer></script>' in page
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
    ("answer", "shown"),
    [
        (RECORDED, "Thank you. Your application is recorded."),
        (QUEUED, "Thank you. Your application is queued: it is safe with us and will be "
                 "recorded shortly."),
    ],
)  # fmt: skip
def test_accepted_application_shows_its_receipt_and_whether_it_is_recorded_or_queued(
    answer: dict[str, Any], shown: str
) -> None:
    outcome = run_form({"values": FILLED, "answer": answer})["outcomes"][0]

    assert outcome["status"] == shown
    assert outcome["receipt"] == answer["body"]["receipt"]
    assert outcome["resets"] == 1
    assert outcome["buttonDisabled"] is False


@pytest.mark.parametrize(
    "failure",
    [
        "network-error",
        {"status": 503, "body": {"title": "The upstream service is unavailable"}},
        {"status": 409, "body": {"title": "The same request is still in progress"}},
        {"status": 429, "body": {"title": "Too many requests"}},
        {"status": 502, "body": "<html>bad gateway</html>"},
    ],
)
def test_retry_after_a_lost_or_refused_attempt_reuses_the_idempotency_key(failure: Any) -> None:
    result = run_form(
        {"values": FILLED, "answer": failure},
        {"answer": RECORDED},
        {"values": FILLED, "answer": RECORDED},
    )

    keys = [request["headers"]["Idempotency-Key"] for request in result["requests"]]
    # The same application twice, then a new one after it was recorded.
    assert keys == ["key-1", "key-1", "key-2"]
    assert result["outcomes"][0]["receipt"] is None
    assert result["outcomes"][0]["status"].lower().endswith("press apply to try again.")
    assert result["outcomes"][0]["resets"] == 0


def test_field_errors_are_listed_by_label_as_text_and_mark_their_inputs() -> None:
    problem = {
        "title": "The submission is invalid",
        "code": "validation_failed",
        "errors": [
            {"pointer": "/fields/email", "code": "email", "detail": "<b>not</b> an email"},
            {"pointer": "/fields/cv", "code": "file_type", "detail": "the file is not a PDF"},
            {"pointer": "/fields/fax", "code": "unknown", "detail": "no such field"},
        ],
    }

    outcome = run_form({"values": FILLED, "answer": {"status": 400, "body": problem}})["outcomes"][
        0
    ]

    assert outcome["status"] == "The submission is invalid"
    assert outcome["errors"] == [
        "Email: <b>not</b> an email",
        "CV (PDF, up to 2 MB): the file is not a PDF",
        "fax: no such field",
    ]
    assert outcome["invalid"] == ["email", "cv"]
    assert outcome["receipt"] is None
    assert outcome["resets"] == 0


def test_corrected_resubmission_clears_the_previous_errors() -> None:
    problem = {"title": "Invalid", "errors": [{"pointer": "/fields/email", "code": "email"}]}

    result = run_form(
        {"values": FILLED, "answer": {"status": 400, "body": problem}},
        {"values": {"email": "h@example.com"}, "answer": RECORDED},
    )

    assert result["outcomes"][0]["errors"] == ["Email: email"]
    assert result["outcomes"][1]["errors"] == []
    assert result["outcomes"][1]["invalid"] == []


def test_file_over_the_pages_limit_is_not_uploaded() -> None:
    big = {**PDF, "size": 2097153}

    result = run_form({"values": FILLED, "files": [big], "answer": RECORDED})

    assert result["requests"] == []
    assert result["outcomes"][0]["invalid"] == ["cv"]
    assert "larger than 2097152 bytes" in result["outcomes"][0]["status"]


def test_file_that_cannot_be_read_is_reported_and_nothing_is_sent() -> None:
    result = run_form(
        {"values": FILLED, "files": [{**PDF, "unreadable": True}], "answer": RECORDED}
    )

    assert result["requests"] == []
    assert result["outcomes"][0]["status"] == (
        "A file could not be read. Choose it again and press Apply."
    )
    assert result["outcomes"][0]["buttonDisabled"] is False
