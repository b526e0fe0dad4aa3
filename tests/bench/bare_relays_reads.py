"""The bare relays of the reading functions: lookup, session, partner (see bare_relays.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from tests.bench.bare_relays import (
    DAY,
    HOUR,
    answer,
    client,
    client_ip,
    count,
    fields_params,
    guard_key,
    hashed,
    kintone,
    locked,
    records_of,
    secret,
    switched_off,
)

# Beyond the fields that leave: the predicates' fields and the record id the audit names.
ASKED = ["担当ID", "取引ID", "$id"]


# ------------------------------------------------------------------------ lookup


def lookup_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    switched_off()
    key = guard_key()
    ip = client_ip(event)
    match = json.loads(event["body"])["match"]
    count("ip:" + hashed(key, "deal-status", ip), HOUR)
    locked([f"lock:{hashed(key, 'deal-status', name, value)}" for name, value in match.items()])
    count("budget:deal-status", DAY)
    token = secret("sekisho/kintone/deals-view")["token"]
    fields = ["取引名", "金額", "ステータス"]
    query = (
        f'(ステータス not in ("取消")) and (担当ID = "{match["owner_id"]}") and '
        f'(取引ID = "{match["deal_id"]}") limit 20'
    )
    page = kintone(
        "GET",
        "/k/v1/records.json",
        token,
        params=[("app", "1"), ("query", query), *fields_params([*fields, *ASKED])],
    )
    return answer(200, {"records": records_of(page, fields)}, "Idempotency-Key,")


# ------------------------------------------------------------------------ session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_claims(token: str, key: bytes) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    expected = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(_b64(expected), signature):
        raise PermissionError("session refused")
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def session_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    switched_off()
    realm = secret("sekisho/session/applicants-key")
    realm_key = str(realm.get("key") or realm.get("secret")).encode()
    derived = hmac.new(realm_key, b"sekisho.session.v1", hashlib.sha256).digest()
    token = event["headers"]["Authorization"].removeprefix("Bearer ")
    claims = _jwt_claims(token, derived)
    client("dynamodb").get_item(
        TableName=os.environ["GUARD_TABLE"], Key={"pk": {"S": f"revoked#{claims['jti']}"}}
    )
    key = guard_key()
    count("ip:" + hashed(key, "my-applications", client_ip(event)), HOUR)
    count("budget:my-applications", DAY)
    token = secret("sekisho/kintone/seminar-mine")["token"]
    fields = ["受付ID", "氏名", "人数", "支払状況", "申込状況", "履歴書"]
    email = claims["claims"]["email"]
    page = kintone(
        "GET",
        "/k/v1/records.json",
        token,
        params=[
            ("app", "2"),
            ("query", f'(メール = "{email}") order by $id desc limit 6'),
            *fields_params([*fields, "メール", "$id", "$revision"]),
        ],
    )
    ref_key = hmac.new(realm_key, b"sekisho.ref.v1", hashlib.sha256).digest()
    rows = []
    for r in page["records"][:5]:
        record_id = r["$id"]["value"]
        mac = hmac.new(ref_key, f"{email}|{record_id}".encode(), hashlib.sha256).digest()[:16]
        rows.append(
            {
                "ref": f"{record_id}.{_b64(mac)}",
                "revision": r["$revision"]["value"],
                **{f: r[f]["value"] for f in fields},
            }
        )
    return answer(200, {"records": rows, "next": None}, "If-Match,Range,")


# ------------------------------------------------------------------------ partner


def partner_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in event["headers"].items()}
    partner = secret("sekisho/partner/demo-erp")
    key = base64.urlsafe_b64decode(partner["secret"] + "=" * (-len(partner["secret"]) % 4))
    body = event["body"].encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if headers["content-digest"] != f"sha-256=:{digest}:":
        return answer(400, {"code": "digest_mismatch"})
    signature_input = headers["signature-input"].removeprefix("sekisho=")
    url = f"https://{headers['host']}{event['requestContext']['path']}"
    base = "\n".join(
        [
            '"@method": POST',
            f'"@target-uri": {url}',
            f'"content-digest": {headers["content-digest"]}',
            f'"content-type": {headers["content-type"]}',
            f'"@signature-params": {signature_input}',
        ]
    )
    mac = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    if headers["signature"] != f"sekisho=:{mac}:":
        return answer(401, {"code": "signature_invalid"})
    nonce = signature_input.split('nonce="', 1)[1].split('"', 1)[0]
    count(f"nonce:{nonce}", 600)
    count("partner:demo-erp", HOUR)
    count("budget:partner-deals", DAY)
    switched_off()
    guard = guard_key()
    match = json.loads(body)["match"]
    locked([f"lock:{hashed(guard, 'partner-deals', 'deal_id', match['deal_id'])}"])
    count("ip:" + hashed(guard, "partner-deals", client_ip(event)), HOUR)
    token = secret("sekisho/kintone/partner-deals-view")["token"]
    fields = ["取引名", "金額", "ステータス"]
    query = (
        f'(ステータス not in ("取消")) and (担当ID = "A1") and '
        f'(取引ID = "{match["deal_id"]}") limit 20'
    )
    page = kintone(
        "GET",
        "/k/v1/records.json",
        token,
        params=[("app", "1"), ("query", query), *fields_params([*fields, *ASKED])],
    )
    return answer(200, {"records": records_of(page, fields)})
