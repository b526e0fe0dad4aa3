"""The demo page in web/: a form that POSTs JSON, CSP-friendly, with nothing external."""

from __future__ import annotations

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
