"""A signed-in applicant's file: listed as a relay link, streamed only for that session.

Against the real local stack: an application with a PDF, its list entry's href, the
download with and without Range, and the links that must lead nowhere (another session's,
a tampered one, one of a record the session can no longer see, a signed-out session's).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from devstack import stack as devstack
from devstack.stack import RunningStack
from tests.session_support import (
    FORM,
    REPO,
    Visitors,
    bearer,
    change_seminar_record,
    cookie,
    flip_last,
    fresh_address,
    http_session,
    open_guard_policy,
    problem,
    record_id,
)

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
OCTETS = {"Accept": "application/octet-stream"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    policy = open_guard_policy(tmp_path_factory.mktemp("files"))
    with devstack.start(
        repo_root=REPO, policy=policy, parameters={"CodeRequestFloorMs": "100"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def visitors(stack: RunningStack) -> Iterator[Visitors]:
    with http_session() as http:
        yield Visitors(stack, http)


def apply_with_cv(visitors: Visitors, email: str, name: str = "履歴書 2026.pdf") -> None:
    cv = {
        "filename": name,
        "content_type": "application/pdf",
        "data": base64.b64encode(PDF).decode(),
    }
    answer = visitors.http.post(
        f"{visitors.url}/forms/{FORM}",
        json={"fields": {"name": "鈴木 一郎", "email": email, "seats": 1, "cv": [cv]}},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text


def listed_file(visitors: Visitors, token: str) -> tuple[dict, str]:
    (record,) = visitors.records(token)
    (cell,) = record["履歴書"]
    return cell, record["ref"]


def download(visitors: Visitors, href: str, headers: dict[str, str]):
    return visitors.http.get(
        f"{visitors.url}/views/{href}", headers={**OCTETS, **headers}, timeout=60
    )


@pytest.fixture
def applicant(visitors: Visitors) -> tuple[str, str, dict, str]:
    email = fresh_address("cv")
    apply_with_cv(visitors, email)
    token = visitors.sign_in(email)
    cell, ref = listed_file(visitors, token)
    return email, token, cell, ref


def test_a_file_is_listed_by_name_and_size_with_a_link_and_no_kintone_key(applicant):
    _, _, cell, _ = applicant

    assert (cell["name"], cell["size"]) == ("履歴書 2026.pdf", len(PDF))
    assert cell["href"].startswith("my-applications/files/")
    assert set(cell) == {"name", "size", "href"}


@pytest.mark.parametrize("credentials", [bearer, cookie], ids=["bearer", "cookie"])
def test_the_link_streams_the_file_as_an_attachment_of_its_stored_type(
    visitors, applicant, credentials
):
    _, token, cell, _ = applicant
    answer = download(visitors, cell["href"], credentials(token))

    assert answer.status_code == 200
    assert answer.content == PDF
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Accept-Ranges"] == "bytes"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%E5%B1%A5%E6%AD%B4%E6%9B%B8%202026.pdf" in disposition


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len(PDF) - 1),
        ("bytes=-50", len(PDF) - 50, len(PDF) - 1),
        ("bytes=2000-999999", 2000, len(PDF) - 1),
    ],
)
def test_a_range_is_answered_206_with_exactly_those_bytes(visitors, applicant, asked, first, last):
    _, token, cell, _ = applicant
    answer = download(visitors, cell["href"], {**bearer(token), "Range": asked})

    assert answer.status_code == 206
    assert answer.headers["Content-Range"] == f"bytes {first}-{last}/{len(PDF)}"
    assert answer.content == PDF[first : last + 1]


def test_an_interrupted_download_resumes_where_it_stopped(visitors, applicant):
    _, token, cell, _ = applicant
    head = download(visitors, cell["href"], {**bearer(token), "Range": "bytes=0-1023"}).content
    rest = download(visitors, cell["href"], {**bearer(token), "Range": f"bytes={len(head)}-"})

    assert head + rest.content == PDF


def test_a_range_past_the_end_is_not_satisfiable(visitors, applicant):
    _, token, cell, _ = applicant
    answer = download(visitors, cell["href"], {**bearer(token), "Range": f"bytes={len(PDF)}-"})

    assert problem(answer) == (416, "range_not_satisfiable")
    assert answer.headers["Content-Range"] == f"bytes */{len(PDF)}"


def test_another_sessions_link_is_the_uniform_404_even_for_the_same_person(visitors, applicant):
    email, _, cell, _ = applicant
    other = visitors.sign_in(email)

    assert problem(download(visitors, cell["href"], bearer(other))) == (404, "not_found")


def test_another_persons_session_cannot_use_the_link(visitors, applicant):
    _, _, cell, _ = applicant
    stranger = fresh_address("stranger")
    visitors.apply(stranger)

    answer = download(visitors, cell["href"], bearer(visitors.sign_in(stranger)))
    assert problem(answer) == (404, "not_found")


def test_a_tampered_link_is_the_uniform_404(visitors, applicant):
    _, token, cell, _ = applicant
    answer = download(visitors, flip_last(cell["href"]), bearer(token))

    assert problem(answer) == (404, "not_found")


def test_a_link_to_a_record_the_session_no_longer_sees_is_the_uniform_404(
    visitors, stack, applicant
):
    _, token, cell, ref = applicant
    change_seminar_record(stack, record_id(ref), {"メール": fresh_address("moved")})

    assert problem(download(visitors, cell["href"], bearer(token))) == (404, "not_found")


def test_a_link_without_a_session_asks_for_one(visitors, applicant):
    _, _, cell, _ = applicant

    assert problem(download(visitors, cell["href"], {})) == (401, "session_required")


def test_a_link_is_dead_once_its_session_is_signed_out(visitors, applicant):
    _, token, cell, _ = applicant
    assert visitors.sign_out(bearer(token)).status_code == 204

    assert problem(download(visitors, cell["href"], bearer(token))) == (401, "session_invalid")
