"""`python -m devstack send <source>`: a signed delivery to the local router, as the source's
sender would make it, so every demo source can be tried without writing a signer.

The secret is read from the local Secrets Manager and used only to sign; neither it nor a
URL holding it (kintone's token travels in the query) is ever printed.

A Stripe source's demo event is a card payment by default, or a delayed payment's steps
(konbini, bank transfer: the session completes unpaid, then its payment succeeds or
fails), `--stripe unpaid|succeeded|failed` with one `--session` for the steps of one
payment.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from sekisho.policy import WebhookPolicy
from webhook_senders import sign

TIMEOUT_SECONDS = 30
DEFAULT_KINTONE_RECORD = "1"
# The 受付ID of the seed's one seminar application (local/kintone_emulator/seed.yaml): the
# demo Stripe payment pays it unless --receipt names another (a test keeps the two in step).
DEMO_SEMINAR_RECEIPT = "00000000-0000-4000-8000-000000000001"
# When the demo events happened. Fixed, not the clock: the same event id again must be the
# same bytes (a redelivery), and the signature's own timestamp is what `--age` moves.
DEMO_CREATED = 1_775_000_000
# The demo Stripe events, by step: what Stripe sends for a card payment (paid at once),
# and for a delayed one: the completion while unpaid, then its success or its failure.
# Each is (event type, the Checkout Session's payment_status).
STRIPE_DEMOS: Mapping[str, tuple[str, str]] = {
    "paid": ("checkout.session.completed", "paid"),
    "unpaid": ("checkout.session.completed", "unpaid"),
    "succeeded": ("checkout.session.async_payment_succeeded", "paid"),
    "failed": ("checkout.session.async_payment_failed", "unpaid"),
}


@dataclass(frozen=True)
class Sent:
    path: str
    event_id: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def answer_text(self) -> str:
        try:
            return json.dumps(json.loads(self.body), ensure_ascii=False, indent=2)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Demo:
    """What a demo body is made from: the sender's event id, the source, and the seminar
    application a Stripe payment names."""

    event_id: str
    hook: WebhookPolicy
    receipt: str
    stripe: str = "paid"  # a step of STRIPE_DEMOS
    session_id: str | None = None  # one Checkout Session's events share it


def _standard(demo: _Demo) -> dict[str, Any]:
    # The id travels in the webhook-id header; the body is the application's own.
    return {
        "type": "invoice.paid",
        "timestamp": "2026-04-01T09:00:00Z",
        "data": {"invoice": "INV-0001", "customer": "山田 花子", "amount": 120000},
    }


def stripe_event(
    event_id: str,
    receipt: str = DEMO_SEMINAR_RECEIPT,
    *,
    step: str = "paid",
    session_id: str | None = None,
) -> dict[str, Any]:
    """A Checkout Session event as Stripe posts it, at ``step`` of STRIPE_DEMOS: the seminar
    application it pays travels in the session's metadata, which is where demo-stripe's
    action reads its key. ``session_id`` defaults to one made from the event id."""
    try:
        event_type, payment_status = STRIPE_DEMOS[step]
    except KeyError:
        raise ValueError(f"a demo Stripe event is one of {', '.join(STRIPE_DEMOS)}") from None
    session = session_id or "cs_test_" + hashlib.sha256(event_id.encode()).hexdigest()[:24]
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": DEMO_CREATED,
        "livemode": False,
        "data": {
            "object": {
                "id": session,
                "object": "checkout.session",
                "amount_total": 12000,
                "currency": "jpy",
                "payment_status": payment_status,
                # What the payer typed at checkout; no action writes it.
                "customer_details": {"name": "山田 花子", "email": "hanako@example.com"},
                "metadata": {"seminar_receipt": receipt},
            }
        },
    }


def _stripe(demo: _Demo) -> dict[str, Any]:
    return stripe_event(demo.event_id, demo.receipt, step=demo.stripe, session_id=demo.session_id)


def _github(demo: _Demo) -> dict[str, Any]:
    # A push event's body (X-GitHub-Event). GitHub's delivery headers are unsigned, so the
    # relay tells events apart by their body: the commit id derives from the event id, and
    # the same --event-id again is a redelivery.
    commit = hashlib.sha1(demo.event_id.encode(), usedforsecurity=False).hexdigest()
    return {
        "ref": "refs/heads/main",
        "after": commit,
        "repository": {"full_name": "example/sekisho"},
        "head_commit": {
            "id": commit,
            "message": "見積テンプレートを更新",
        },
    }


def _box(demo: _Demo) -> dict[str, Any]:
    return {
        "type": "webhook_event",
        "id": demo.event_id,
        "created_at": "2026-04-01T09:00:00+09:00",
        "trigger": "FILE.UPLOADED",
        "webhook": {"id": "1234", "type": "webhook"},
        "source": {"id": "5678", "type": "file", "name": "見積書.pdf"},
    }


def _slack(demo: _Demo) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0DEMO",
        "api_app_id": "A0DEMO",
        "event_id": demo.event_id,
        "event_time": DEMO_CREATED,
        "event": {
            "type": "app_mention",
            "user": "U0DEMO",
            "channel": "C0DEMO",
            "text": "<@U0SEKISHO> 見積の状況は?",
            "ts": "1775000000.000100",
        },
    }


def _kintone(demo: _Demo) -> dict[str, Any]:
    # What kintone posts after an edit; a refetch source reads the record itself and
    # trusts none of this but the app and the record id.
    app = demo.hook.refetch.app if demo.hook.refetch else 1
    return {
        "id": demo.event_id,
        "type": "UPDATE_RECORD",
        "app": {"id": str(app), "name": "deals"},
        "record": {
            "$id": {"type": "__ID__", "value": DEFAULT_KINTONE_RECORD},
            "取引名": {"type": "SINGLE_LINE_TEXT", "value": "送信者が書いた値 (信用しない)"},
        },
        "recordTitle": "送信者が書いた値 (信用しない)",
        "url": f"https://example.cybozu.com/k/{app}/show#record={DEFAULT_KINTONE_RECORD}",
    }


_PAYLOADS: dict[str, Callable[[_Demo], dict[str, Any]]] = {
    "standard": _standard,
    "stripe": _stripe,
    "github": _github,
    "box": _box,
    "slack": _slack,
    "kintone": _kintone,
}


def new_event_id(scheme: str) -> str:
    """A fresh id shaped like the sender's own."""
    if scheme == "stripe":
        return f"evt_{secrets.token_hex(12)}"
    if scheme == "slack":
        return f"Ev{secrets.token_hex(5).upper()}"
    if scheme == "standard":
        return f"msg_{uuid.uuid4().hex}"
    return str(uuid.uuid4())


def demo_body(
    scheme: str,
    event_id: str,
    hook: WebhookPolicy,
    *,
    receipt: str = DEMO_SEMINAR_RECEIPT,
    stripe: str = "paid",
    session_id: str | None = None,
) -> bytes:
    """A sensible delivery for the scheme; the same for the same event id (a redelivery).

    `receipt` is the 受付ID of the seminar application a Stripe payment pays; the other
    schemes' bodies do not name one. `stripe` is the step of STRIPE_DEMOS a Stripe event
    is, and `session_id` its Checkout Session (default: one made from the event id).
    """
    demo = _Demo(event_id, hook, receipt, stripe, session_id)
    return json.dumps(_PAYLOADS[scheme](demo), ensure_ascii=False).encode("utf-8")


def send(
    router_url: str,
    source: str,
    hook: WebhookPolicy,
    secret: Mapping[str, Any],
    *,
    now: int,
    body: bytes | None = None,
    event_id: str | None = None,
    receipt: str = DEMO_SEMINAR_RECEIPT,
    stripe: str = "paid",
    session_id: str | None = None,
) -> Sent:
    """Sign `body` (or the scheme's demo body) and POST it to `/webhooks/<source>`.

    `event_id` is the sender's id of the event: in the demo body, and as the delivery id
    where the scheme has one (webhook-id, X-GitHub-Delivery), so sending it again is a
    redelivery of the same event. `receipt` is the seminar application a demo Stripe
    payment names; `stripe` and `session_id` the step of STRIPE_DEMOS it is and its
    Checkout Session.
    """
    event_id = event_id or new_event_id(hook.scheme)
    payload = (
        body
        if body is not None
        else demo_body(
            hook.scheme, event_id, hook, receipt=receipt, stripe=stripe, session_id=session_id
        )
    )
    signed = sign(hook.scheme, payload, secret, now=now, delivery_id=event_id)
    path = f"/webhooks/{quote(source, safe='')}"
    with requests.Session() as http:
        # Loopback only: a proxy from the environment must not see the signed delivery.
        http.trust_env = False
        answer = http.post(
            router_url + path,
            params=signed.query,
            data=payload,
            headers=signed.headers,
            timeout=TIMEOUT_SECONDS,
        )
    return Sent(path, event_id, answer.status_code, dict(answer.headers), answer.content)
