"""Partner systems over HTTP on the local stack: requests signed per RFC 9421 by the
http-message-signatures library with keys read from the stack's Secrets Manager, and what
every way of getting the signature, the body, the time, the key, the route, the quota or
the client certificate wrong answers.

The policy is the shipped one with four more partners whose keys the tests put into the
stack's Secrets Manager themselves: one with a quota of two a minute, one whose key was
rotated an hour ago with a grace of a minute (and one with a grace of two hours), and two
bound to client certificates of the stack's test CA (the mutual TLS port).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from devstack import stack as devstack
from devstack.provision import LOCAL_SECRET_PREFIX
from devstack.stack import RunningStack
from sekisho.partners.sign import SignedRequest, partner_key, sign_request
from sekisho.secrets.names import full_name, prefixed
from tests.partner_support import partner_key_secret

REPO = Path(__file__).resolve().parents[2]
VIEW = "/views/partner-deals"
FORM = "/partners/forms/seminar-apply"
DEMO_SECRET = "sekisho/partner/demo-erp"
A1_DEAL = {"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}
APPLICATION = {"fields": {"name": "予約サイト 経由", "email": "booking@example.com", "seats": 1}}
TLS_A, TLS_B = "CN=tls-a,O=sekisho e2e", "CN=tls-b,O=sekisho e2e"
EXTRA = {
    # partner id -> what differs from demo-erp
    "quota-erp": {"quota": {"per_minute": 2, "per_day": 100}},
    "grace-over": {"grace_seconds": 60},
    "grace-open": {"grace_seconds": 7200},
    "tls-a": {"client_cert": {"subject": TLS_A}},
    "tls-b": {"client_cert": {"subject": TLS_B}},
}


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    demo = data["partners"]["demo-erp"]
    demo["quota"] = {"per_minute": 10_000, "per_day": 100_000}
    for partner_id, changes in EXTRA.items():
        data["partners"][partner_id] = {
            **demo,
            "key_secret": f"sekisho/partner/{partner_id}",
            "routes": {"views": ["partner-deals"]},
            "claims": {"partner": partner_id, "owner_id": "A1"},
            **changes,
        }
    path = tmp_path_factory.mktemp("partners") / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(policy_file: Path) -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, policy=policy_file, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def keys(stack: RunningStack) -> dict[str, bytes]:
    """Each partner's current key (demo-erp's read from the stack, the others made here),
    and `old:<id>` for a key rotated out."""
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    ).client("secretsmanager", endpoint_url=stack.moto_url)
    declared = prefixed(client, LOCAL_SECRET_PREFIX)
    demo = json.loads(declared.get_secret_value(SecretId=DEMO_SECRET)["SecretString"])
    found = {"demo-erp": partner_key(demo, DEMO_SECRET)}
    an_hour_ago = time.time() - 3600
    for partner_id in EXTRA:
        name = full_name(f"sekisho/partner/{partner_id}", LOCAL_SECRET_PREFIX)
        first = secrets.token_bytes(32)
        client.create_secret(Name=name, SecretString=partner_key_secret(first))
        found[partner_id] = first
        if partner_id.startswith("grace-"):
            # What a rotation leaves: the new key current, the old one AWSPREVIOUS.
            new = secrets.token_bytes(32)
            client.put_secret_value(
                SecretId=name, SecretString=partner_key_secret(new, an_hour_ago)
            )
            found[partner_id], found[f"old:{partner_id}"] = new, first
    return found


def signed(
    stack: RunningStack,
    keys: dict[str, bytes],
    partner: str = "demo-erp",
    *,
    path: str = VIEW,
    body: Any = None,
    key: bytes | None = None,
    base: str | None = None,
    **options: Any,
) -> SignedRequest:
    payload = json.dumps(body or {"match": {"deal_id": "D000001"}}, ensure_ascii=False).encode()
    return sign_request(
        partner,
        "POST",
        (base or stack.router_url) + path,
        payload,
        "application/json",
        keys[partner] if key is None else key,
        **options,
    )


def send(request: SignedRequest, **changes: Any) -> requests.Response:
    return requests.post(
        changes.pop("url", request.url),
        data=changes.pop("data", request.body),
        headers=changes.pop("headers", request.headers),
        timeout=30,
        **changes,
    )


def code_of(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()["code"]


# -- the partner's own deal ------------------------------------------------------------------


def test_a_signed_request_with_the_demo_key_gets_the_partners_own_deal(stack, keys):
    response = send(signed(stack, keys))

    assert response.status_code == 200, response.text
    assert response.json() == {"records": [A1_DEAL]}


@pytest.mark.parametrize(
    "match",
    [
        {"deal_id": "D000010"},  # A10's deal
        {"deal_id": "D000010", "owner_id": "A10"},  # naming the owner in the body
    ],
    ids=["another_owners_deal", "owner_in_the_body"],
)
def test_another_owners_deal_is_out_of_reach_however_the_request_is_written(stack, keys, match):
    response = send(signed(stack, keys, body={"match": match}))

    assert response.status_code in (400, 404)
    assert code_of(response) in ("not_found", "validation_failed")
    assert "D000010" not in response.text
    assert "別担当" not in response.text


def test_the_other_owners_deal_is_the_uniform_404(stack, keys):
    response = send(signed(stack, keys, body={"match": {"deal_id": "D000010"}}))

    assert response.status_code == 404
    assert response.json() == {
        "type": "urn:sekisho:problem:not_found",
        "title": "Not found",
        "status": 404,
        "code": "not_found",
    }


def test_a_partner_submits_the_form_as_a_booking_site_would(stack, keys):
    response = send(signed(stack, keys, path=FORM, body=APPLICATION))

    assert response.status_code in (201, 202), response.text
    assert response.json()["receipt"]


# -- the refusals the issue lists ----------------------------------------------------------


def test_a_body_changed_by_one_byte_is_a_digest_mismatch(stack, keys):
    request = signed(stack, keys)
    response = send(request, data=request.body.replace(b"1", b"2"))

    assert (response.status_code, code_of(response)) == (401, "digest_mismatch")


@pytest.mark.parametrize(
    "change",
    [
        {"url_path": "/views/deal-status"},  # another path
        {"method": "PUT"},  # another method, signed; sent as POST
    ],
    ids=["another_path", "another_method"],
)
def test_a_signature_over_another_path_or_method_is_invalid(stack, keys, change):
    if "url_path" in change:
        other = signed(stack, keys, path=change["url_path"])
    else:
        payload = json.dumps({"match": {"deal_id": "D000001"}}).encode()
        other = sign_request(
            "demo-erp",
            "PUT",
            stack.router_url + VIEW,
            payload,
            "application/json",
            keys["demo-erp"],
        )
    response = send(other, url=stack.router_url + VIEW)

    assert (response.status_code, code_of(response)) == (401, "signature_invalid")
    assert response.headers["WWW-Authenticate"].startswith("Signature")


@pytest.mark.parametrize("offset", [-301, 301], ids=["301_s_old", "301_s_ahead"])
def test_a_signature_created_301_seconds_off_is_stale(stack, keys, offset):
    response = send(signed(stack, keys, now=time.time() + offset))

    assert (response.status_code, code_of(response)) == (401, "signature_stale")


def test_the_same_request_twice_is_replayed(stack, keys):
    request = signed(stack, keys)
    assert send(request).status_code == 200

    again = send(request)

    assert (again.status_code, code_of(again)) == (401, "signature_replayed")


def test_an_unknown_keyid_is_an_unknown_partner(stack, keys):
    response = send(signed(stack, keys, "nobody-erp", key=secrets.token_bytes(32)))

    assert (response.status_code, code_of(response)) == (401, "unknown_partner")


def test_a_signature_that_omits_content_digest_for_a_body_is_refused(stack, keys):
    request = signed(stack, keys)
    without = {k: v for k, v in request.headers.items() if k != "Content-Digest"}
    inputs = without["Signature-Input"].replace(' "content-digest"', "")

    response = send(request, headers={**without, "Signature-Input": inputs})

    assert response.status_code == 401
    assert code_of(response) in ("signature_invalid", "digest_mismatch")


def test_a_request_without_any_signature_is_signature_missing(stack):
    response = requests.post(
        stack.router_url + VIEW, json={"match": {"deal_id": "D000001"}}, timeout=30
    )

    assert (response.status_code, code_of(response)) == (401, "signature_missing")


def test_a_route_the_partner_was_not_given_is_the_404_of_an_undeclared_route(stack, keys):
    not_given = send(signed(stack, keys, "quota-erp", path=FORM, body=APPLICATION))
    undeclared = send(signed(stack, keys, path="/partners/forms/no-such-form", body=APPLICATION))

    assert (not_given.status_code, code_of(not_given)) == (404, "not_found")
    assert not_given.json() == undeclared.json()


def test_the_previous_key_after_the_grace_is_refused_and_within_it_accepted(stack, keys):
    over = send(signed(stack, keys, "grace-over", key=keys["old:grace-over"]))
    within = send(signed(stack, keys, "grace-open", key=keys["old:grace-open"]))
    current = send(signed(stack, keys, "grace-over"))

    assert (over.status_code, code_of(over)) == (401, "signature_invalid")
    assert within.status_code == 200, within.text
    assert current.status_code == 200, current.text


def test_past_the_quota_the_answer_is_429_with_retry_after(stack, keys):
    # Two a minute: a minute's boundary between the calls would reset the count.
    if 60 - time.time() % 60 < 15:
        time.sleep(60 - time.time() % 60 + 1)
    answers = [send(signed(stack, keys, "quota-erp")) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert code_of(answers[2]) == "quota_exceeded"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 61


def test_a_browser_route_takes_no_signature_in_place_of_its_own_checks(stack, keys):
    # The browser's view, called with a valid partner signature: still the browser's route
    # (both predicates from the body), and it cannot reach a partner view's records.
    request = signed(stack, keys, path="/views/deal-status")
    response = send(request)

    assert response.status_code == 400
    assert code_of(response) == "validation_failed"


# -- mutual TLS ----------------------------------------------------------------------------


def _tls_send(stack: RunningStack, request: SignedRequest, cert: str) -> requests.Response:
    client = stack.pki.client(cert) if cert in stack.pki.clients else None
    assert client is not None, sorted(stack.pki.clients)
    return send(request, cert=client.pair, verify=str(stack.pki.ca_cert))


def test_a_partner_with_its_own_certificate_gets_its_deal_over_mutual_tls(stack, keys):
    response = _tls_send(stack, signed(stack, keys, "tls-a", base=stack.tls_url), "tls-a")

    assert response.status_code == 200, response.text
    assert response.json() == {"records": [A1_DEAL]}


@pytest.mark.parametrize(
    ("partner", "cert"),
    [("tls-b", "tls-a"), ("tls-a", "tls-b")],
    ids=["a_cert_b_key", "b_cert_a_key"],
)
def test_the_certificate_of_partner_a_with_partner_bs_key_is_refused(stack, keys, partner, cert):
    response = _tls_send(stack, signed(stack, keys, partner, base=stack.tls_url), cert)

    assert (response.status_code, code_of(response)) == (401, "client_certificate_refused")


def test_a_partner_bound_to_a_certificate_is_refused_without_one(stack, keys):
    response = send(signed(stack, keys, "tls-a"))

    assert (response.status_code, code_of(response)) == (401, "client_certificate_refused")


def test_a_view_body_past_a_lookups_limit_is_refused_before_its_signature_is_read(stack, keys):
    padded = {"match": {"deal_id": "D000001"}, "padding": "x" * 20_000}

    response = send(signed(stack, keys, body=padded))

    assert (response.status_code, code_of(response)) == (413, "payload_too_large")
