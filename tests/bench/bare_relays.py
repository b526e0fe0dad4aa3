"""The bare relays of the first-response bench (tests/bench/first_response.py): what a
relay doing the same job with nothing but boto3 and requests would be. The same Secrets
Manager reads, the same DynamoDB, SQS, SSM and SES calls, the same kintone request, the
same JSON answer, and none of sekisho's checks, policy, retries or logging.

This module holds the plain pieces they share (a client per service, a secret read, a
kintone call, an API Gateway answer, a counter); the handlers live by function group in
bare_relays_reads.py (lookup, session, partner), bare_relays_writes.py (intake, deliver)
and bare_relays_hooks.py (webhook, action), and RELAYS names each one's file. No sekisho
and no Powertools: these modules import only what a plain Lambda function would.
tests/integration/test_bare_relays_in_step.py records the calls each sekisho function
makes for its bench event and asserts its relay makes the same ones, so a change to
either shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
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


_HERE = Path(__file__).parent
# Each function's bare relay: its file and its handler.
RELAYS = {
    "lookup": (_HERE / "bare_relays_reads.py", "lookup_handler"),
    "session": (_HERE / "bare_relays_reads.py", "session_handler"),
    "partner": (_HERE / "bare_relays_reads.py", "partner_handler"),
    "intake": (_HERE / "bare_relays_writes.py", "intake_handler"),
    "deliver": (_HERE / "bare_relays_writes.py", "deliver_handler"),
    "webhook": (_HERE / "bare_relays_hooks.py", "webhook_handler"),
    "action": (_HERE / "bare_relays_hooks.py", "action_handler"),
}
