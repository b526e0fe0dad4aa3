"""The events of the first-response bench (tests/bench/first_response.py): each function's
bench event, made fresh for each child (its own address, receipt, event id, signature) so
that every first response does the work a visitor's would, never a replay's short cut.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.bench.first_response_stack import ROOT, Stack

EVENTS = ROOT / "events"


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _with_ip(event: dict[str, Any], n: int) -> dict[str, Any]:
    # Each round from an address of its own: the per-IP limits count, never refuse.
    event["requestContext"]["identity"]["sourceIp"] = f"198.18.{n // 200 % 200}.{n % 200 + 1}"
    return event


def _secret(running: Stack, declared: str) -> dict[str, Any]:
    from sekisho.secrets.names import full_name  # noqa: PLC0415

    answer = running.moto_client("secretsmanager").get_secret_value(
        SecretId=full_name(declared, running.secret_prefix)
    )
    return json.loads(answer["SecretString"])


def lookup_event(running: Stack, n: int) -> dict[str, Any]:
    return _with_ip(_event("lookup_valid.json"), n)


def intake_event(running: Stack, n: int) -> dict[str, Any]:
    return _with_ip(_event("intake_valid.json"), n)


def deliver_event(running: Stack, n: int) -> dict[str, Any]:
    # One queued submission of its own each round: a receipt already recorded would
    # make the first response a ledger hit, not a delivery.
    event = _event("deliver_batch.json")
    record = event["Records"][0]
    receipt = str(uuid.uuid4())
    body = json.loads(record["body"])
    body["receipt"] = receipt
    record["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    record["messageAttributes"]["receipt"]["stringValue"] = receipt
    record["messageId"] = str(uuid.uuid4())
    event["Records"] = [record]
    return event


def action_event(running: Stack, n: int) -> dict[str, Any]:
    # A stripe event of its own each round (the ledger applies a key once).
    event = _event("action_batch.json")
    record = event["Records"][0]
    key = f"evt_first{uuid.uuid4().hex[:20]}"
    body = json.loads(record["body"])
    old = body["dedupe_key"]
    body["dedupe_key"] = key
    body["body"] = body["body"].replace(old, key)
    record["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    record["messageAttributes"]["dedupe_key"]["stringValue"] = key
    record["messageId"] = str(uuid.uuid4())
    event["Records"] = [record]
    return event


def webhook_event(running: Stack, n: int) -> dict[str, Any]:
    from devstack.send import demo_body, new_event_id  # noqa: PLC0415
    from webhook_senders import sign  # noqa: PLC0415

    source = "demo-stripe"
    hook = running.policy.webhooks[source]
    secret = _secret(running, hook.secret)
    event_id = new_event_id(hook.scheme)
    body = demo_body(hook.scheme, event_id, hook)
    signed = sign(hook.scheme, body, secret, now=int(time.time()), delivery_id=event_id)
    event = _event("webhook_stripe_valid.json")
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "stripe-signature"}
    headers.update(signed.headers)
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["body"] = body.decode("utf-8")
    return event


def session_event(running: Stack, n: int) -> dict[str, Any]:
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    import jwt  # noqa: PLC0415

    realm = "applicants"
    key = _secret(running, f"sekisho/session/{realm}-key")
    secret = key.get("key") or key.get("secret")
    derived = hmac.new(str(secret).encode(), b"sekisho.session.v1", hashlib.sha256).digest()
    now = int(time.time())
    token = jwt.encode(
        {
            "claims": {"email": SESSION_EMAIL},
            "iss": "sekisho",
            "aud": realm,
            "typ": "session",
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
        },
        derived,
        algorithm="HS256",
    )
    event = _with_ip(_event("session_list.json"), n)
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


# The seed's one seminar application (local/kintone_emulator/seed.yaml) is this person's.
SESSION_EMAIL = "hanako@example.com"
PARTNER = "demo-erp"
PARTNER_VIEW = "partner-deals"
PARTNER_HOST = "sekisho1.execute-api.ap-northeast-1.amazonaws.com"


def partner_event(running: Stack, n: int) -> dict[str, Any]:
    from sekisho.partners.sign import partner_key, secret_name, sign_request  # noqa: PLC0415

    name = secret_name(PARTNER)
    key = partner_key(_secret(running, name), name)
    body = json.dumps({"match": {"deal_id": "D000001"}}).encode()
    path = f"/v1/views/{PARTNER_VIEW}"
    signed = sign_request(
        PARTNER, "POST", f"https://{PARTNER_HOST}{path}", body, "application/json", key
    )
    event = _with_ip(_event("lookup_valid.json"), n)
    headers = {
        "Host": PARTNER_HOST,
        "X-Forwarded-Proto": "https",
        "User-Agent": "partner-erp/1.0",
        **signed.headers,
    }
    event.update(
        path=f"/views/{PARTNER_VIEW}",
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        pathParameters={"view": PARTNER_VIEW},
        body=body.decode(),
    )
    event["requestContext"]["path"] = path
    return event


EVENT_BUILDERS: dict[str, Callable[[Stack, int], dict[str, Any]]] = {
    "lookup": lookup_event,
    "intake": intake_event,
    "deliver": deliver_event,
    "webhook": webhook_event,
    "action": action_event,
    "session": session_event,
    "partner": partner_event,
}
