"""Writes events/webhook_<scheme>_{valid,tampered,stale,replayed}.json for the six demo
webhook sources: API Gateway REST proxy events as WebhookFunction receives them.

    .venv/bin/python -m tests.tools.make_webhook_events           # (re)write the files
    .venv/bin/python -m tests.tools.make_webhook_events --check   # exit 1 if any is stale

Each delivery is signed by ``webhook_senders.sign`` (how the sender signs) with the
TEST-ONLY keys of ``tests/webhook_event_keys.py``, at its fixed EVENT_TIME, so the output
is the same on every run and tests/integration/test_webhook_events.py can check the files
against it. The files hold signatures, never a key, except that kintone signs nothing: its
URL token IS its proof, so the kintone events carry the test token in their query.

The scenarios, per source:

- valid: what the sender sends at EVENT_TIME.
- tampered: the valid delivery with its body changed by one character (kintone: the
  record id, so the notification names a record that does not exist).
- stale: the same delivery signed an hour before it arrives. GitHub and kintone put no
  time in what they sign, so theirs is a redelivery authenticated with the key that was
  rotated away eight days earlier, past any grace period.
- replayed: the sender's retry of the valid delivery a minute later: the same event id,
  re-signed with a fresh timestamp where the sender re-signs (Standard Webhooks, Stripe,
  Box, Slack), byte for byte the same where it does not (GitHub, kintone).

Each event's ``requestContext.requestTimeEpoch`` is when API Gateway received it.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.webhook_event_keys import EVENT_TIME, SOURCES, signing_secret
from webhook_senders import sign

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SCENARIOS = ("valid", "tampered", "stale", "replayed")
STAGE = "v1"
API_ID = "sekisho1"
DOMAIN = f"{API_ID}.execute-api.ap-northeast-1.amazonaws.com"
# How late a stale delivery arrives, and how soon a sender retries.
STALE_BY = 3600
RETRY_AFTER = 60
JST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class Sender:
    """One demo source's delivery and how its sender behaves."""

    source: str
    body: bytes
    source_ip: str
    headers: Mapping[str, str]  # the sender's own, besides what it signs
    delivery_id: str | None  # the sender's per-delivery id, where it has one
    tamper: tuple[str, str]  # one character changed (or added) in the body
    base64: bool = False  # API Gateway hands the body over base64-encoded
    resigns: bool = True  # a retry carries a fresh timestamp and signature
    retry_delivery_id: str | None = None  # Box names each attempt anew
    retry_headers: Mapping[str, str] = field(default_factory=dict)
    signs_time: bool = True  # GitHub and kintone sign no timestamp

    @property
    def scheme(self) -> str:
        return SOURCES[self.source]


def _iso(epoch: int, tz: timezone = UTC) -> str:
    return datetime.fromtimestamp(epoch, tz).isoformat()


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------- the senders' payloads


def _standard() -> Sender:
    # Standard Webhooks (as Svix sends it): the event's envelope is the sender's choice.
    body = {
        "type": "invoice.paid",
        "timestamp": _iso(EVENT_TIME - 1).replace("+00:00", "Z"),
        "data": {
            "invoice_id": "inv_2026112200042",
            "customer": {"id": "cus_0042", "name": "株式会社サンプル商事"},
            "amount": 55000,
            "currency": "JPY",
            "paid_at": _iso(EVENT_TIME - 3).replace("+00:00", "Z"),
        },
    }
    return Sender(
        source="demo-standard",
        body=_compact(body),
        source_ip="198.51.100.10",
        headers={"Content-Type": "application/json", "User-Agent": "Svix-Webhooks/1.38.0"},
        delivery_id="msg_2pTqSekishoDemoInvoicePaid01",
        tamper=('"amount":55000', '"amount":95000'),
        base64=True,
    )


def _stripe() -> Sender:
    intent = {
        "id": "pi_3QSekishoDemo0001",
        "object": "payment_intent",
        "amount": 2000,
        "amount_received": 2000,
        "currency": "jpy",
        "customer": "cus_QSekishoDemo01",
        "description": "セミナー参加費 (11月)",
        "livemode": False,
        "metadata": {"seminar": "seminar-apply"},
        "payment_method_types": ["card"],
        "status": "succeeded",
        "created": EVENT_TIME - 5,
    }
    event = {
        "id": "evt_3QSekishoDemo0001",
        "object": "event",
        "api_version": "2024-06-20",
        "created": EVENT_TIME - 1,
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_SekishoDemo01", "idempotency_key": None},
        "type": "payment_intent.succeeded",
    }
    # Stripe sends its events pretty-printed.
    return Sender(
        source="demo-stripe",
        body=json.dumps(event, ensure_ascii=False, indent=2).encode("utf-8"),
        source_ip="198.51.100.20",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
        },
        delivery_id=None,
        tamper=('"amount": 2000', '"amount": 9000'),
    )


def _github() -> Sender:
    after = "6f1e0c3b9d2a4e5f8a7b6c5d4e3f2a1b0c9d8e7f"
    before = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
    commit = {
        "id": after,
        "tree_id": "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
        "distinct": True,
        "message": "見積書テンプレートを更新",
        "timestamp": _iso(EVENT_TIME - 30, JST),
        "url": f"https://github.com/example-co/sekisho-demo/commit/{after}",
        "author": {"name": "佐藤 一郎", "email": "ichiro@example.com", "username": "ichiro"},
        "committer": {"name": "佐藤 一郎", "email": "ichiro@example.com", "username": "ichiro"},
        "added": [],
        "removed": [],
        "modified": ["templates/estimate.md"],
    }
    push = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {
            "id": 700000001,
            "node_id": "R_kgDOSekisho",
            "name": "sekisho-demo",
            "full_name": "example-co/sekisho-demo",
            "private": True,
            "owner": {"name": "example-co", "login": "example-co", "id": 9000001},
            "html_url": "https://github.com/example-co/sekisho-demo",
            "default_branch": "main",
        },
        "pusher": {"name": "ichiro", "email": "ichiro@example.com"},
        "sender": {"login": "ichiro", "id": 9000002, "type": "User"},
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/example-co/sekisho-demo/compare/{before[:12]}...{after[:12]}",
        "commits": [commit],
        "head_commit": commit,
    }
    return Sender(
        source="demo-github",
        body=_compact(push),
        source_ip="198.51.100.30",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/7c3b1a2",
            "Accept": "*/*",
            "X-GitHub-Hook-Installation-Target-ID": "700000001",
            "X-GitHub-Hook-Installation-Target-Type": "repository",
        },
        delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        tamper=('"forced":false', '"forced":falsE'),
        resigns=False,
        signs_time=False,
    )


def _box() -> Sender:
    event = {
        "type": "webhook_event",
        "id": "0f46a6ca-86bf-44ab-8cf5-f08e1e02876b",
        "created_at": _iso(EVENT_TIME - 2, JST),
        "trigger": "FILE.UPLOADED",
        "webhook": {"id": "4161", "type": "webhook"},
        "created_by": {
            "type": "user",
            "id": "20000001",
            "name": "山田 花子",
            "login": "hanako@example.com",
        },
        "source": {
            "id": "1500000001",
            "type": "file",
            "name": "見積書_v1.pdf",
            "size": 48213,
            "sha1": "85136c79cbf9fe36bb9d05d0639c70c265c18d37",
            "file_version": {"type": "file_version", "id": "1600000001"},
            "parent": {"type": "folder", "id": "1400000001", "name": "取引先資料"},
        },
        "additional_info": [],
    }
    return Sender(
        source="demo-box",
        body=_compact(event),
        source_ip="198.51.100.40",
        headers={
            "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Box-WH-Client/0.1",
        },
        delivery_id="b3a1c3f8-3d9b-4a27-9b53-1f4d1c2e0a01",
        tamper=("見積書_v1.pdf", "見積書_v9.pdf"),
        retry_delivery_id="b3a1c3f8-3d9b-4a27-9b53-1f4d1c2e0a02",
    )


def _slack() -> Sender:
    ts = f"{EVENT_TIME - 1}.000200"
    callback = {
        "team_id": "T0SEKISHO",
        "api_app_id": "A0SEKISHO",
        "event": {
            "type": "message",
            "channel": "C0DEALS01",
            "user": "U0ICHIRO1",
            "text": "倉庫管理システム更改、受注しました",
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
        },
        "type": "event_callback",
        "event_id": "Ev0SEKISHO0001",
        "event_time": EVENT_TIME - 1,
        "authorizations": [
            {
                "team_id": "T0SEKISHO",
                "user_id": "U0SEKIBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMFNFS0lTSE8ifQ",
    }
    return Sender(
        source="demo-slack",
        body=_compact(callback),
        source_ip="198.51.100.50",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "*/*",
        },
        delivery_id=None,
        tamper=("受注しました", "失注しました"),
        # Slack says why it retries, and which retry this is.
        retry_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )


def _kintone() -> Sender:
    # Record 1 of the deals app as kintone notifies its creation (the emulator's seed).
    record = {
        "レコード番号": {"type": "RECORD_NUMBER", "value": "1"},
        "担当ID": {"type": "SINGLE_LINE_TEXT", "value": "A1"},
        "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D000001"},
        "取引名": {"type": "SINGLE_LINE_TEXT", "value": "倉庫管理システム更改"},
        "金額": {"type": "NUMBER", "value": "1200000"},
        "ステータス": {"type": "DROP_DOWN", "value": "商談中"},
        "社内メモ": {"type": "MULTI_LINE_TEXT", "value": "値引きは10%まで"},
        "作成者": {"type": "CREATOR", "value": {"code": "sato", "name": "佐藤 一郎"}},
        "作成日時": {"type": "CREATED_TIME", "value": "2026-11-22T01:59:00Z"},
        "更新者": {"type": "MODIFIER", "value": {"code": "sato", "name": "佐藤 一郎"}},
        "更新日時": {"type": "UPDATED_TIME", "value": "2026-11-22T01:59:00Z"},
        "$id": {"type": "__ID__", "value": "1"},
        "$revision": {"type": "__REVISION__", "value": "1"},
    }
    notification = {
        "id": "01934f6e-2b1a-7c3d-9e8f-0a1b2c3d4e5f",
        "type": "ADD_RECORD",
        "app": {"id": "1", "name": "deals"},
        "record": record,
        "recordTitle": "倉庫管理システム更改",
        "url": "https://example.cybozu.com/k/1/show#record=1",
    }
    return Sender(
        source="demo-kintone",
        body=_compact(notification),
        source_ip="198.51.100.60",
        headers={"Content-Type": "application/json"},
        delivery_id=None,
        # Record 19 does not exist: the forged notification is refused on refetch.
        tamper=('"$id":{"type":"__ID__","value":"1"}', '"$id":{"type":"__ID__","value":"19"}'),
        resigns=False,
        signs_time=False,
    )


SENDERS: dict[str, Callable[[], Sender]] = {
    "standard": _standard,
    "stripe": _stripe,
    "github": _github,
    "box": _box,
    "slack": _slack,
    "kintone": _kintone,
}


# ---------------------------------------------------------------- the scenarios


def tampered(body: bytes, change: tuple[str, str]) -> bytes:
    old, new = (part.encode("utf-8") for part in change)
    if body.count(old) != 1:
        raise ValueError(f"the tamper target {change[0]!r} is not unique in the body")
    return body.replace(old, new)


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]
    arrived: int


def _signed(sender: Sender, body: bytes, *, at: int, version: str, delivery_id: str | None):
    secret = signing_secret(sender.source, version)  # type: ignore[arg-type]
    signed = sign(sender.scheme, body, secret, now=at, delivery_id=delivery_id)
    return {**signed.headers, **sender.headers}, dict(signed.query)


def deliveries(sender: Sender) -> dict[str, Delivery]:
    headers, query = _signed(
        sender, sender.body, at=EVENT_TIME, version="current", delivery_id=sender.delivery_id
    )
    out = {
        "valid": Delivery(sender.body, headers, query, EVENT_TIME),
        "tampered": Delivery(tampered(sender.body, sender.tamper), headers, query, EVENT_TIME),
    }
    if sender.signs_time:
        stale = _signed(
            sender,
            sender.body,
            at=EVENT_TIME - STALE_BY,
            version="current",
            delivery_id=sender.delivery_id,
        )
    else:
        stale = _signed(
            sender, sender.body, at=EVENT_TIME, version="previous", delivery_id=sender.delivery_id
        )
    out["stale"] = Delivery(sender.body, *stale, EVENT_TIME)
    retried_at = EVENT_TIME + RETRY_AFTER
    if sender.resigns:
        retry_headers, retry_query = _signed(
            sender,
            sender.body,
            at=retried_at,
            version="current",
            delivery_id=sender.retry_delivery_id or sender.delivery_id,
        )
    else:
        retry_headers, retry_query = dict(headers), dict(query)
    retry_headers.update(sender.retry_headers)
    out["replayed"] = Delivery(sender.body, retry_headers, retry_query, retried_at)
    return out


def proxy_event(sender: Sender, scenario: str, delivery: Delivery) -> dict[str, Any]:
    """The event API Gateway's REST proxy integration hands WebhookFunction."""
    path = f"/webhooks/{sender.source}"
    user_agent = delivery.headers.get("User-Agent")
    headers = {
        **delivery.headers,
        "Host": DOMAIN,
        "X-Forwarded-For": sender.source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if sender.base64:
        body = base64.b64encode(delivery.body).decode("ascii")
    else:
        body = delivery.body.decode("utf-8")
    return {
        "resource": "/webhooks/{source}",
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": delivery.query or None,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in delivery.query.items()} or None
        ),
        "pathParameters": {"source": sender.source},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/webhooks/{source}",
            "httpMethod": "POST",
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sekisho:{sender.source}:{scenario}")),
            "requestTimeEpoch": delivery.arrived * 1000,
            "accountId": "123456789012",
            "apiId": API_ID,
            "protocol": "HTTP/1.1",
            "domainName": DOMAIN,
            "identity": {"sourceIp": sender.source_ip, "userAgent": user_agent},
        },
        "body": body,
        "isBase64Encoded": sender.base64,
    }


def events() -> dict[str, dict[str, Any]]:
    """File name -> event, for every scheme and scenario."""
    out = {}
    for scheme, make in SENDERS.items():
        sender = make()
        for scenario, delivery in deliveries(sender).items():
            out[f"webhook_{scheme}_{scenario}.json"] = proxy_event(sender, scenario, delivery)
    return out


def render(event: Mapping[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    differ = []
    for name, event in events().items():
        path = EVENTS / name
        text = render(event)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        differ.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "differ from the generator" if args.check else "written"
    for name in differ:
        print(f"events/{name}: {verb}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
