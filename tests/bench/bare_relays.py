"""The bare relays of the first-response bench (tests/bench/first_response.py).

Each ``<function>_handler`` is what a relay doing the same job with nothing but boto3 and
requests would be: the same Secrets Manager reads, the same DynamoDB, SQS, SSM and SES
calls, the same kintone request, the same JSON answer, and none of sekisho's checks,
policy, retries or logging. No sekisho and no Powertools: this module imports only what
a plain Lambda function would. tests/integration/test_bare_relays_in_step.py records the
calls each sekisho function makes for its bench event and asserts its relay here makes
the same ones, so a change to either shows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

import boto3
import requests

SECURITY_HEADERS = {
    "Cache-Control": ["no-store"],
    "X-Content-Type-Options": ["nosniff"],
    "Content-Security-Policy": ["default-src 'none'; frame-ancestors 'none'"],
    "Referrer-Policy": ["no-referrer"],
    "Strict-Transport-Security": ["max-age=31536000; includeSubDomains"],
    "Vary": ["Origin"],
}
HOUR, DAY = 3600, 86400

_clients: dict[str, Any] = {}
http = requests.Session()


def client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def secret(declared: str) -> dict[str, Any]:
    prefix = os.environ.get("SEKISHO_SECRET_PREFIX")
    name = f"{prefix}/{declared}" if prefix else declared
    answer = client("secretsmanager").get_secret_value(SecretId=name)
    return json.loads(answer["SecretString"])


def kintone(method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
    answer = http.request(
        method,
        os.environ["KINTONE_BASE_URL"] + path,
        headers={"X-Cybozu-API-Token": token},
        timeout=10,
        **kwargs,
    )
    answer.raise_for_status()
    return answer.json()


def answer(status: int, body: Any, extra_headers: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": ["application/json; charset=utf-8"]}
    if extra_headers is not None:
        headers.update(
            {
                "Access-Control-Allow-Origin": [os.environ["ALLOWED_ORIGINS"].split(",")[0]],
                "Access-Control-Allow-Headers": [_allowed(extra_headers)],
                "Access-Control-Max-Age": ["600"],
            }
        )
    headers.update(SECURITY_HEADERS)
    text = (
        body
        if isinstance(body, str)
        else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    )
    return {
        "statusCode": status,
        "body": text,
        "isBase64Encoded": False,
        "multiValueHeaders": headers,
    }


def _allowed(extra: str) -> str:
    # Alphabetical, as the relay lists them: X-Captcha-Token sorts after X-Api-Key.
    names = ["Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Api-Key"]
    names += [name for name in extra.split(",") if name]
    return ",".join(sorted(names))


def switched_off() -> None:
    try:
        client("ssm").get_parameter(Name=os.environ["ROUTE_SWITCHES_PARAMETER"])
    except client("ssm").exceptions.ParameterNotFound:
        pass


def hashed(key: bytes, *parts: str) -> str:
    return hmac.new(key, "|".join(parts).encode(), hashlib.sha256).hexdigest()


def count(pk: str, window: int, table: str | None = None) -> None:
    now = int(time.time())
    client("dynamodb").update_item(
        TableName=table or os.environ["GUARD_TABLE"],
        Key={"pk": {"S": f"{pk}#{now // window}"}},
        UpdateExpression="ADD #n :one SET #exp = if_not_exists(#exp, :exp)",
        ExpressionAttributeNames={"#n": "n", "#exp": "expires_at"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":exp": {"N": str(now + window)}},
    )


def locked(keys: list[str]) -> None:
    table = os.environ["GUARD_TABLE"]
    client("dynamodb").batch_get_item(
        RequestItems={table: {"Keys": [{"pk": {"S": k}} for k in keys], "ConsistentRead": True}}
    )


def guard_key() -> bytes:
    return secret(os.environ["GUARD_HASH_KEY_SECRET"])["key"].encode()


def client_ip(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["identity"]["sourceIp"])


def fields_params(fields: list[str]) -> list[tuple[str, str]]:
    return [(f"fields[{i}]", f) for i, f in enumerate(fields)]


def records_of(page: dict[str, Any], fields: list[str]) -> list[dict[str, Any]]:
    return [{f: r[f]["value"] for f in fields} for r in page["records"]]


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
        params=[("app", "1"), ("query", query), *fields_params(fields)],
    )
    return answer(200, {"records": records_of(page, fields)}, "Idempotency-Key,")


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
                ("query", f'受付ID = "{receipt_no}" limit 2'),
                *fields_params(["$id", "$revision"]),
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
                "id": found["$id"]["value"],
                "record": {
                    "支払状況": {"value": "支払済"},
                    "決済額": {"value": str(session["amount_total"])},
                    "決済日時": {"value": created},
                    "決済イベントID": {"value": body["dedupe_key"]},
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
            ("query", f'メール = "{email}" order by $id desc limit 6'),
            *fields_params(["$id", "$revision", *fields]),
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
        params=[("app", "1"), ("query", query), *fields_params(fields)],
    )
    return answer(200, {"records": records_of(page, fields)})


__all__ = [
    "action_handler",
    "deliver_handler",
    "intake_handler",
    "lookup_handler",
    "partner_handler",
    "session_handler",
    "webhook_handler",
]
