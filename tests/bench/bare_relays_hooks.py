"""The bare relays of the webhook functions: webhook and action (see bare_relays.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

from tests.bench.bare_relays import (
    DAY,
    answer,
    client,
    fields_params,
    kintone,
    secret,
    switched_off,
)

# ------------------------------------------------------------------------ webhook


def stripe_verified(header: str, body: str, key: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(key.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def webhook_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    switched_off()
    key = secret("sekisho/webhook/demo-stripe")
    headers = {k.lower(): v for k, v in event["headers"].items()}
    body = event["body"]
    if not stripe_verified(headers["stripe-signature"], body, key.get("secret") or key["key"]):
        return answer(401, {"code": "signature_invalid"})
    event_id = json.loads(body)["id"]
    now = int(time.time())
    client("dynamodb").put_item(
        TableName=os.environ["GUARD_TABLE"],
        Item={"pk": {"S": f"webhook#demo-stripe#{event_id}"}, "expires_at": {"N": str(now + DAY)}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    client("sqs").send_message(
        QueueUrl=os.environ["WEBHOOK_QUEUE_URL"],
        MessageBody=json.dumps({"source": "demo-stripe", "dedupe_key": event_id, "body": body}),
    )
    client("dynamodb").update_item(
        TableName=os.environ["GUARD_TABLE"],
        Key={"pk": {"S": f"webhook#demo-stripe#{event_id}"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "queued"}},
    )
    return answer(200, json.dumps({"status": "queued"}))


# ------------------------------------------------------------------------ action


def action_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ddb = client("dynamodb")
    for message in event["Records"]:
        body = json.loads(message["body"])
        stripe = json.loads(body["body"])
        ledger = {"pk": {"S": f"action#{body['source']}#{body['dedupe_key']}"}}
        ddb.put_item(
            TableName=os.environ["GUARD_TABLE"],
            Item={**ledger, "state": {"S": "applying"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        session = stripe["data"]["object"]
        receipt_no = session["metadata"]["seminar_receipt"]
        read = secret("sekisho/kintone/seminar-payment-view")["token"]
        page = kintone(
            "GET",
            "/k/v1/records.json",
            read,
            params=[
                ("app", "2"),
                ("query", f'(受付ID = "{receipt_no}") limit 2'),
                *fields_params(["$id", "$revision", "受付ID", "決済イベントID"]),
            ],
        )
        (found,) = page["records"]
        edit = secret("sekisho/kintone/seminar-edit")["token"]
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stripe["created"]))
        kintone(
            "PUT",
            "/k/v1/record.json",
            edit,
            json={
                "app": 2,
                "id": int(found["$id"]["value"]),
                "revision": found["$revision"]["value"],
                "record": {
                    "支払状況": {"value": "支払済"},
                    "決済額": {"value": str(session["amount_total"])},
                    "決済日時": {"value": created},
                    "決済イベントID": {"value": f"{body['source']}#{body['dedupe_key']}"},
                },
            },
        )
        ddb.update_item(
            TableName=os.environ["GUARD_TABLE"],
            Key=ledger,
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": "applied"}},
        )
    return {"batchItemFailures": []}
