"""The bare relays of the writing functions: intake and deliver (see bare_relays.py)."""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any

from tests.bench.bare_relays import (
    DAY,
    HOUR,
    answer,
    client,
    client_ip,
    count,
    guard_key,
    hashed,
    kintone,
    secret,
    switched_off,
)

# ------------------------------------------------------------------------ intake


def receipt() -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    code = "".join(secrets.choice(alphabet) for _ in range(11))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def intake_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    switched_off()
    key = guard_key()
    fields = json.loads(event["body"])["fields"]
    count("ip:" + hashed(key, "seminar-apply", client_ip(event)), HOUR)
    count("budget:seminar-apply", DAY)
    number = receipt()
    entries = os.environ["ENTRIES_TABLE"]
    item = {
        "pk": {"S": f"seminar-apply#{number}"},
        "status": {"S": "accepted"},
        "accepted_at": {"N": str(int(time.time()))},
    }
    client("dynamodb").put_item(
        TableName=entries, Item=item, ConditionExpression="attribute_not_exists(pk)"
    )
    record = {
        "受付ID": {"value": number},
        "氏名": {"value": fields["name"]},
        "メール": {"value": fields["email"]},
        "人数": {"value": str(fields["seats"])},
        "受付経路": {"value": "web"},
        "支払状況": {"value": "未払い"},
        "申込状況": {"value": "申込"},
    }
    token = secret("sekisho/kintone/seminar-add")["token"]
    added = kintone("POST", "/k/v1/record.json", token, json={"app": 2, "record": record})
    client("dynamodb").update_item(
        TableName=entries,
        Key={"pk": item["pk"]},
        UpdateExpression="SET #s = :s, record_id = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "recorded"}, ":r": {"S": str(added["id"])}},
    )
    # The confirmation mail goes by the queue, as sekisho's does.
    client("sqs").send_message(
        QueueUrl=os.environ["INTAKE_QUEUE_URL"],
        MessageBody=json.dumps({"receipt": number, "form": "seminar-apply", "mail": True}),
    )
    return answer(
        201, {"receipt": number, "status": "recorded"}, "Idempotency-Key,X-Captcha-Token,"
    )


# ------------------------------------------------------------------------ deliver


def deliver_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = secret("sekisho/kintone/seminar-add")["token"]
    ddb = client("dynamodb")
    for message in event["Records"]:
        body = json.loads(message["body"])
        record = {code: {"value": value} for code, value in body["record"].items()}
        record["受付ID"] = {"value": body["receipt"]}
        added = kintone("POST", "/k/v1/record.json", token, json={"app": 2, "record": record})
        ddb.update_item(
            TableName=os.environ["ENTRIES_TABLE"],
            Key={"pk": {"S": f"{body['form']}#{body['receipt']}"}},
            UpdateExpression="SET #s = :s, record_id = :r",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "recorded"}, ":r": {"S": str(added["id"])}},
        )
        mail_key = {"id": {"S": f"mail#{body['receipt']}"}}
        ddb.put_item(
            TableName=os.environ["IDEMPOTENCY_TABLE"],
            Item={**mail_key, "status": {"S": "sending"}},
            ConditionExpression="attribute_not_exists(id)",
        )
        client("sesv2").send_email(
            FromEmailAddress=os.environ["MAIL_FROM_ADDRESS"],
            Destination={"ToAddresses": [body["record"]["メール"]]},
            Content={
                "Simple": {
                    "Subject": {"Data": "セミナーのお申し込みを受け付けました", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": f"受付番号: {body['receipt']}", "Charset": "UTF-8"}},
                }
            },
            ConfigurationSetName=os.environ["MAIL_CONFIGURATION_SET"],
        )
        ddb.update_item(
            TableName=os.environ["IDEMPOTENCY_TABLE"],
            Key=mail_key,
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "sent"}},
        )
    return {"batchItemFailures": []}
