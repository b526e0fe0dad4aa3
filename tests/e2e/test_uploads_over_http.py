"""Direct uploads over HTTP on the local stack: a presigned POST into moto's S3, then the
submission naming the upload, then the deliverer moving the bytes into kintone."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack import stack as devstack
from devstack.aws import moto_client
from devstack.stack import RunningStack
from sekisho.kintone.client import KintoneClient, TokenSource

REPO = Path(__file__).resolve().parents[2]
# 20 MB: five times what a JSON body may carry, under the demo field's 25 MB.
BIG_PDF = b"%PDF-1.7\n" + bytes(range(256)) * (20 * 1024 * 1024 // 256) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 1024
PERSON = {"name": "山田 花子", "email": "hanako@example.com"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    # The pump is driven by hand (pump_once) so delivery happens when the test says.
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def ask(
    stack, http, data: bytes, *, sent_as: str = "application/pdf", **extra
) -> requests.Response:
    body = {"field": "materials", "name": "資料.pdf", "size": len(data), "content_type": sent_as}
    return http.post(
        f"{stack.router_url}/forms/seminar-apply/uploads", json=body | extra, timeout=30
    )


def upload(stack, http, data: bytes, *, sent_as: str = "application/pdf", **extra) -> str:
    granted = ask(stack, http, data, sent_as=sent_as, **extra)
    assert granted.status_code == 201, granted.text
    grant = granted.json()
    # The URL is moto's: what the browser reaches is S3 itself, not the API.
    assert grant["url"].startswith(stack.moto_url)
    posted = http.post(
        grant["url"],
        data=grant["fields"],
        files={"file": ("資料.pdf", data, sent_as)},
        timeout=120,
    )
    assert posted.status_code == 204, posted.text
    return str(grant["upload"])


def submit(stack, http, upload_id: str) -> requests.Response:
    fields = {**PERSON, "materials": {"upload": upload_id}}
    return http.post(f"{stack.router_url}/forms/seminar-apply", json={"fields": fields}, timeout=60)


def kintone_requests(stack, http) -> int:
    return int(http.get(f"{stack.kintone.url}/_emulator/stats", timeout=10).json()["requests"])


def record_of(stack, receipt: str) -> dict:
    # The demo view token: the intake and delivery paths hold no token that can read.
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    (record,) = client.get_records(2, f'受付ID = "{receipt}"').records
    return record


def test_a_20_mb_pdf_goes_in_by_a_direct_upload_and_reaches_kintone(stack, http):
    digest = hashlib.sha256(BIG_PDF).hexdigest()
    upload_id = upload(stack, http, BIG_PDF, sha256=digest)
    answer = submit(stack, http, upload_id)
    assert (answer.status_code, answer.json()["status"]) == (202, "queued"), answer.text

    while stack.pump_once("DeliverFunction").received:
        pass
    record = record_of(stack, answer.json()["receipt"])
    (stored,) = record["資料"]["value"]
    assert (stored["name"], int(stored["size"])) == ("資料.pdf", len(BIG_PDF))
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    assert hashlib.sha256(client.download_file(stored["fileKey"]).content).hexdigest() == digest
    # A claimed upload names one record only.
    again = submit(stack, http, upload_id)
    assert (again.status_code, again.json()["errors"][0]["code"]) == (400, "upload")


def test_a_png_uploaded_as_a_pdf_is_refused_before_kintone(stack, http):
    upload_id = upload(stack, http, PNG, sent_as="application/pdf")
    before = kintone_requests(stack, http)
    answer = submit(stack, http, upload_id)
    assert answer.status_code == 400, answer.text
    assert [(e["pointer"], e["code"]) for e in answer.json()["errors"]] == [
        ("/fields/materials", "file_type")
    ]
    assert stack.pump_once("DeliverFunction").received == ()
    assert kintone_requests(stack, http) == before


@pytest.mark.parametrize(
    ("extra", "pointer", "code"),
    [
        ({"size": 26_214_401}, "/size", "file_size"),
        ({"content_type": "image/png"}, "/content_type", "file_type"),
        ({"field": "cv"}, "/field", "unknown"),
        ({"name": "資料.html"}, "/name", "file_name"),
    ],
)
def test_a_bad_upload_request_gets_a_problem_and_no_presigned_post(
    stack, http, extra, pointer, code
):
    answer = ask(stack, http, b"%PDF-", **extra)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (pointer, code) in {(e["pointer"], e["code"]) for e in answer.json()["errors"]}


def test_the_quarantine_expires_unclaimed_uploads_after_a_day(stack):
    s3 = moto_client(stack.moto_url, "s3")
    (bucket,) = [
        b["Name"] for b in s3.list_buckets()["Buckets"] if "attachment" in b["Name"].lower()
    ]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    (unclaimed,) = [r for r in rules if r.get("ID") == "ExpireUnclaimedUploads"]
    assert unclaimed["Expiration"] == {"Days": 1}
